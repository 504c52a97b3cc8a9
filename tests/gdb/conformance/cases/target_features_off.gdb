# title: issue 23 item 6: without target.xml (target-features-packet off) GDB connects, reads rip and steps
# (gdbserver, never asked for target.xml, answers with the layout GDB assumes without one)
# expect: stop breakpoint 1 leaf:@leaf_open
# expect: rip <leaf>
# expect: off1 1
# expect: exited 0
set remote target-features-packet off
@connect
break *leaf
continue
tag-out rip /(<\w+[^>]*>)/ info registers rip
stepi
tag off1 (long)$pc - (long)&leaf
delete
continue
