# title: issue 23 item 7: $ymm0 is a register (not void) where the CPU has AVX
# (if proxy turns out unable to read the AVX state on some host, add a
# `proxy-skip-if: KEY=VALUE: why` line naming that host's `proxy --host-info` answer)
# needs-cpu: avx
# expect: stop breakpoint 1 leaf:@leaf_first
# expect: ymm0 union
# expect: xmm0 union
# expect: exited 0
break leaf
continue
tag-type ymm0 $ymm0
tag-type xmm0 $xmm0
delete
continue
