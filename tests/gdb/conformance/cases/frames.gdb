# title: info frame, backtrace, up/down between frames
# expect: stop breakpoint 1 leaf:@leaf_first
# expect: bt leaf<compute<main
# expect: lang c
# expect: saved_rip_label saved rip
# expect: up compute:@compute_call
# expect: down leaf:@leaf_first
# expect: exited 0
break leaf
continue
tag-bt bt
tag-out lang /source language (\w+)/ info frame
tag-out saved_rip_label /(saved rip) = 0x/ info frame
up
tag-where up
tag ret_off $pc - (long)&compute
down
tag-where down
delete
continue
