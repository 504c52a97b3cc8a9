# title: temporary breakpoint: hit once, then gone
# expect: stop breakpoint 1 compute:@compute_call
# expect: left No breakpoints or watchpoints.
# expect: stop breakpoint 2 leaf:@leaf_first
# expect: x 0
# expect: exited 0
tbreak compute
continue
tag-out left /(No breakpoints or watchpoints\.)/ info breakpoints
break leaf
continue
tag x x
delete
continue
