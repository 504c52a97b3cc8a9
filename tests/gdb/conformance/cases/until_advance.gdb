# title: until leaves the loop without stepping through it again; advance to a function
# expect: stop breakpoint 1 main:@loop_body
# expect: after_next main:@loop_head
# expect: after_until main:@after_loop
# expect: counter_mid 3
# expect: at_advance store_fields:@store_stamp
# expect: exited 0
break twin.c:@loop_body
continue
delete
next
tag-where after_next
until
tag-where after_until
tag counter_mid counter
advance store_fields
tag-where at_advance
continue
