# title: issue 23 item 3: with swbreak-feature-packet off (GDB does not offer swbreak/hwbreak) a breakpoint stops normally
# (gdbserver respects the packets being off: plain T05 stops, so the outcome is the same)
# expect: stop breakpoint 1 compute:@compute_call
# expect: bt compute<main
# expect: exited 0
set remote swbreak-feature-packet off
set remote hwbreak-feature-packet off
@connect
break compute
continue
tag-bt bt
delete
continue
