# title: issue 23 item 5: with software-breakpoint-packet off GDB plants int3 by writing memory; the hit stops with SIGTRAP
# (GDB writes 0xcc itself and restores the byte: the hit must be a SIGTRAP stop, not a #BP the
# guest sees; the second hit (x = 1) shows it re-planted, the output (counter=8) that the
# original bytes came back)
# expect: stop breakpoint 1 compute:@compute_call
# expect: stop breakpoint 1 compute:@compute_call
# expect: x 1
# expect: out counter=8
# expect: exited 0
set remote software-breakpoint-packet off
break compute
continue
continue
tag x x
delete
continue
