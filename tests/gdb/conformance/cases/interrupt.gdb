# title: Ctrl-C (0x03) stops a spinning program with SIGINT; it runs on when released
# args: spin
# expect: stop signal SIGINT spin_until_flag
# expect: func spin_until_flag
# expect: exited 0
# expect: out counter=8
interrupt-soon
continue
tag-func func
set var release_flag = 1
continue
