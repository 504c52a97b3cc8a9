# title: write watchpoint on an aligned int: two hits with old and new values
# (proxy on a host without data breakpoints emulates it by single-stepping: same stops)
# expect: stop watchpoint 2 main:@loop_head
# expect: stop watchpoint 2 main:@loop_head
# expect: old 0
# expect: new 1
# expect: old 1
# expect: new 2
# expect: counter 2
# expect: exited 0
break main
continue
watch counter
continue
continue
tag counter counter
delete
continue
