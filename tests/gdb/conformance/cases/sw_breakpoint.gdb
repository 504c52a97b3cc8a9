# title: software breakpoint on a function, continue, backtrace, delete, run to the end
# expect: stop breakpoint 1 compute:@compute_call
# expect: bt compute<main
# expect: x 0
# expect: exited 0
# expect: out counter=8
break compute
continue
tag-bt bt
tag x x
delete
continue
