# title: detach lets the program run on; a new GDB attaches to it and finishes it
# (gdbserver side: gdbserver --once, then gdbserver --attach PID for the second GDB)
# args: spin
# expect: stop breakpoint 1 spin_until_flag:@spin_loop
# expect: func spin_until_flag
# expect: exited 0
# expect: out counter=8
break spin_until_flag
continue
delete
detach
@reattach
tag-func func
set var release_flag = 1
continue
