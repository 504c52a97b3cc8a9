# title: next over a call, step out of a function, finish with its value
# expect: stop breakpoint 1 compute:@compute_call
# expect: stop end-stepping compute:@compute_return
# expect: y 1
# expect: stop end-stepping main:@loop_head
# expect: stop breakpoint 2 leaf:@leaf_first
# expect: returned 2
# expect: after_finish compute:@compute_call
# expect: exited 0
break compute
continue
next
tag y y
step
tag-where after_step
step
tag-where after_step2
delete
break leaf
continue
finish
tag-where after_finish
delete
continue
