$ts_ring << EOD
8 20531007.469641 164248059.757127
64 5344002.775058 342016177.603697
256 3901303.894281 998733796.935998
1024 1727386.267072 1768843537.481985
4096 8966761.708263 36727855957.046906
16384 2120051.693491 34734926946.158775
65536 473431.378328 31026798810.125080
EOD
$ls_ring << EOD
8 110 205
64 311 711
256 375 1231
1024 331 54271
4096 743 1551
16384 1279 7295
65536 4991 17663
EOD
$tk_ring << EOD
1 5344002.775058
2 9940957.333734
4 5070422.338711
EOD
$lk_ring << EOD
1 311 711
2 2975 17663
4 5631 13183
EOD
$ts_ring_inplace << EOD
8 30609811.907084 244878495.256672
64 5325914.877475 340858552.158432
256 3795615.896322 971677669.458316
1024 2783175.282794 2849971489.581226
4096 5922522.082237 24258650448.840958
16384 1149513.803424 18833634155.294388
65536 417396.943178 27354526068.145126
EOD
$ls_ring_inplace << EOD
8 105 245
64 311 695
256 447 1375
1024 215 16127
4096 967 3103
16384 663 2335
65536 2975 10111
EOD
$tk_ring_inplace << EOD
1 5325914.877475
2 9491937.728730
4 4730182.456318
EOD
$lk_ring_inplace << EOD
1 311 695
2 3135 9471
4 5759 12927
EOD
$ts_mutex << EOD
8 1462825.857141 11702606.857126
64 1538581.607527 98469222.881739
256 1078795.935789 276171759.561977
1024 245237.531191 251123231.939363
4096 226043.902612 925875825.097885
16384 98472.487133 1613373229.193826
65536 120329.349045 7885904219.021662
EOD
$ls_mutex << EOD
8 135 863
64 567 1663
256 791 1951
1024 343 19455
4096 2490367 3670015
16384 1343 22271
65536 7423 52223
EOD
$tk_mutex << EOD
1 1538581.607527
2 3307492.613368
4 1671409.845672
EOD
$lk_mutex << EOD
1 567 1663
2 13823 135167
4 12927 53247
EOD
$ts_spsc << EOD
8 6649764.401087 53198115.208696
64 3953366.964792 253015485.746697
256 3843160.997281 983849215.304052
1024 1603238.878135 1641716611.209945
4096 4196572.962123 17189162852.857353
16384 145546.796457 2384638713.145727
65536 594884.534355 38986352843.481918
EOD
$ls_spsc << EOD
8 120 1567
64 507 703
256 655 1199
1024 347 4287
4096 2975 6335
16384 1167 5567
65536 16639 48639
EOD
$tk_spsc << EOD
1 3953366.964792
2 8130992.733236
4 4073137.439950
EOD
$lk_spsc << EOD
1 507 703
2 2783 4927
4 4607 11135
EOD
$ts_iceoryx << EOD
8 636184.716582 5089477.732658
64 656478.080827 42014597.172899
256 655386.427078 167778925.332050
1024 664190.055564 680130616.897125
4096 1227321.620335 5027109356.890355
16384 514151.644413 8423860542.064189
65536 480497.270985 31489869151.284904
EOD
$ls_iceoryx << EOD
8 727 1103
64 2015 8191
256 1951 5247
1024 863 1631
4096 2207 31487
16384 1015 2111
65536 3199 12671
EOD
$tk_iceoryx << EOD
1 656478.080827
2 542571.205333
4 218633.873245
EOD
$lk_iceoryx << EOD
1 2015 8191
2 2783 548863
4 24319 206847
EOD
$ts_zmq << EOD
8 1277215.627570 10217725.020559
64 915374.606068 58583974.788374
256 755670.355839 193451611.094853
1024 456523.482253 467480045.827291
4096 134643.688535 551500548.238139
16384 28107.060212 460506074.507117
65536 16514.034978 1082263796.290884
EOD
$ls_zmq << EOD
8 1294335 4653055
64 1622015 4259839
256 1736703 5439487
1024 2621439 8191999
4096 7274495 16383999
16384 7405567 15859711
65536 3670015 7798783
EOD
$tk_zmq << EOD
1 915374.606068
2 883972.001443
4 810688.977232
EOD
$lk_zmq << EOD
1 1622015 4259839
2 1736703 5111807
4 2424831 6356991
EOD
set terminal pngcairo size 1400,1000 font 'sans,10'
set output '/tmp/fullrun2/bench.png'
set multiplot layout 2,2 title 'shmcast-bench: ring (copy, in place) vs mutex ring, spsc fan-out, iceoryx, zmq'
set grid
set key top right
set logscale y 10
set logscale x 2
set xlabel 'message size (bytes)'
set ylabel 'messages/s per reader'
set title 'throughput vs size (K=1)'
plot $ts_ring using 1:2 with linespoints lc 1 lw 2 title 'ring', $ts_ring_inplace using 1:2 with linespoints lc 2 lw 2 title 'ring-inplace', $ts_mutex using 1:2 with linespoints lc 3 lw 2 title 'mutex', $ts_spsc using 1:2 with linespoints lc 4 lw 2 title 'spsc-fanout', $ts_iceoryx using 1:2 with linespoints lc 5 lw 2 title 'iceoryx', $ts_zmq using 1:2 with linespoints lc 6 lw 2 title 'zmq'
set ylabel 'one-way latency (ns)'
set title 'paced one-way latency vs size (K=1)'
plot $ls_ring using 1:2 with linespoints lc 1 lw 2 title 'ring p50', $ls_ring using 1:3 with linespoints lc 1 dashtype 2 title 'ring p99', $ls_ring_inplace using 1:2 with linespoints lc 2 lw 2 title 'ring-inplace p50', $ls_ring_inplace using 1:3 with linespoints lc 2 dashtype 2 title 'ring-inplace p99', $ls_mutex using 1:2 with linespoints lc 3 lw 2 title 'mutex p50', $ls_mutex using 1:3 with linespoints lc 3 dashtype 2 title 'mutex p99', $ls_spsc using 1:2 with linespoints lc 4 lw 2 title 'spsc-fanout p50', $ls_spsc using 1:3 with linespoints lc 4 dashtype 2 title 'spsc-fanout p99', $ls_iceoryx using 1:2 with linespoints lc 5 lw 2 title 'iceoryx p50', $ls_iceoryx using 1:3 with linespoints lc 5 dashtype 2 title 'iceoryx p99', $ls_zmq using 1:2 with linespoints lc 6 lw 2 title 'zmq p50', $ls_zmq using 1:3 with linespoints lc 6 dashtype 2 title 'zmq p99'
unset logscale x
set xlabel 'readers K'
set xtics 1
set ylabel 'messages/s per reader'
set title 'throughput vs readers (64 B)'
plot $tk_ring using 1:2 with linespoints lc 1 lw 2 title 'ring', $tk_ring_inplace using 1:2 with linespoints lc 2 lw 2 title 'ring-inplace', $tk_mutex using 1:2 with linespoints lc 3 lw 2 title 'mutex', $tk_spsc using 1:2 with linespoints lc 4 lw 2 title 'spsc-fanout', $tk_iceoryx using 1:2 with linespoints lc 5 lw 2 title 'iceoryx', $tk_zmq using 1:2 with linespoints lc 6 lw 2 title 'zmq'
set ylabel 'one-way latency (ns)'
set title 'paced one-way latency vs readers (64 B)'
plot $lk_ring using 1:2 with linespoints lc 1 lw 2 title 'ring p50', $lk_ring using 1:3 with linespoints lc 1 dashtype 2 title 'ring p99', $lk_ring_inplace using 1:2 with linespoints lc 2 lw 2 title 'ring-inplace p50', $lk_ring_inplace using 1:3 with linespoints lc 2 dashtype 2 title 'ring-inplace p99', $lk_mutex using 1:2 with linespoints lc 3 lw 2 title 'mutex p50', $lk_mutex using 1:3 with linespoints lc 3 dashtype 2 title 'mutex p99', $lk_spsc using 1:2 with linespoints lc 4 lw 2 title 'spsc-fanout p50', $lk_spsc using 1:3 with linespoints lc 4 dashtype 2 title 'spsc-fanout p99', $lk_iceoryx using 1:2 with linespoints lc 5 lw 2 title 'iceoryx p50', $lk_iceoryx using 1:3 with linespoints lc 5 dashtype 2 title 'iceoryx p99', $lk_zmq using 1:2 with linespoints lc 6 lw 2 title 'zmq p50', $lk_zmq using 1:3 with linespoints lc 6 dashtype 2 title 'zmq p99'
unset multiplot
