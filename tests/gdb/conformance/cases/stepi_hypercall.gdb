# title: issue 23 item 2: stepi over the write (proxy: hypercall OUT; native: syscall) lands on the next instruction; stepi 2 on the one after; nexti as stepi
# expect: stop breakpoint 1 hyper_write:shim
# expect: one_after 1
# expect: two_after 1
# expect: nexti_after 1
# expect: out counter=8
# expect: out big.hi=7
# expect: exited 0
break *hc_insn
continue
stepi
tag one_after $pc == (long)&hc_next
continue
stepi 2
tag two_after $pc == (long)&hc_next2
continue
nexti
tag nexti_after $pc == (long)&hc_next
delete
continue
