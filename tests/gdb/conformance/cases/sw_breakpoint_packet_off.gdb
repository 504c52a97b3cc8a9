# title: issue 23 item 5: with software-breakpoint-packet off GDB plants int3 by writing memory; the hit stops with SIGTRAP
# expect: stop breakpoint 1 compute:@compute_call
# expect: stop breakpoint 1 compute:@compute_call
# expect: x 1
# expect: bytes_back 1
# expect: out counter=8
# expect: exited 0
set remote software-breakpoint-packet off
break compute
continue
continue
tag x x
delete
tag bytes_back *(unsigned char *)compute != 0xcc
continue
