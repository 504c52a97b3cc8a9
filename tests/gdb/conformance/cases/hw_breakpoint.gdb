# title: hardware breakpoint (hbreak) on a function: debug register on both sides
# expect: stop hbreakpoint 1 leaf:@leaf_first
# expect: bt leaf<compute<main
# expect: exited 0
hbreak leaf
continue
tag-bt bt
delete
continue
