# title: info registers rip, $pc and $rip name the function
# expect: stop breakpoint 1 leaf:@leaf_open
# expect: rip <leaf>
# expect: pc <leaf>
# expect: at_leaf 1
# expect: exited 0
break *leaf
continue
tag-out rip /(<\w+[^>]*>)/ info registers rip
tag-out pc /(<\w+[^>]*>)/ print $pc
tag at_leaf $rip == (long)&leaf
delete
continue
