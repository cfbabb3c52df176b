$ts_ring << EOD
8 41077815.847628 328622526.781022
64 41880962.437667 2680381596.010664
256 26506752.523114 6785728645.917294
1024 1742893.132692 1784722567.876963
4096 6369164.641397 26088098371.163334
16384 1717909.497361 28146229204.762886
65536 448519.291694 29394160300.488964
EOD
$ls_ring << EOD
8 311 227327
64 141 287
256 215 655
1024 295 5823
4096 3007 35839
16384 2207 6911
65536 20223 105471
EOD
$tk_ring << EOD
1 41880962.437667
2 22804067.570612
4 10591710.076256
EOD
$lk_ring << EOD
1 141 287
2 2943 8703
4 10623 149503
EOD
$ts_ring_inplace << EOD
8 28461578.608308 227692628.866460
64 16791410.426003 1074650267.264216
256 22619382.531825 5790561928.147077
1024 2510816.592080 2571076190.290124
4096 5214131.883753 21357084195.852951
16384 1566039.516239 25657991434.067642
65536 482583.899160 31626618415.369335
EOD
$ls_ring_inplace << EOD
8 315 11647
64 145 367
256 195 1951
1024 347 479231
4096 527 2367
16384 1727 5247
65536 6783 57855
EOD
$tk_ring_inplace << EOD
1 16791410.426003
2 7038009.326752
4 4615499.330858
EOD
$lk_ring_inplace << EOD
1 145 367
2 2975 8447
4 10751 74751
EOD
$ts_mutex << EOD
8 7688801.910682 61510415.285454
64 5502710.233005 352173454.912338
256 1377375.713337 352608182.614184
1024 522823.759397 535371529.622246
4096 339018.670622 1388620474.868514
16384 176745.880851 2895804511.870872
65536 66803.255451 4378018149.268071
EOD
$ls_mutex << EOD
8 567 69631
64 205 1119
256 235 3839
1024 427 368639
4096 895 147455
16384 2495 180223
65536 5759 66559
EOD
$tk_mutex << EOD
1 5502710.233005
2 1531306.458072
4 741878.000065
EOD
$lk_mutex << EOD
1 205 1119
2 18943 1703935
4 21247 2064383
EOD
$ts_spsc << EOD
8 18356959.155308 146855673.242463
64 14516199.430377 929036763.544118
256 3563547.709276 912268213.574648
1024 1994071.302638 2041929013.901361
4096 2764731.692781 11324341013.630098
16384 1635853.284530 26801820213.739388
65536 448052.433228 29363564264.042248
EOD
$ls_spsc << EOD
8 567 3391
64 65 95
256 215 983
1024 407 7871
4096 743 2367
16384 2335 3935
65536 6399 12799
EOD
$tk_spsc << EOD
1 14516199.430377
2 2572385.816895
4 1314500.708066
EOD
$lk_spsc << EOD
1 65 95
2 2559 17663
4 5247 13311
EOD
$ts_iceoryx << EOD
8 1022492.875879 8179943.007030
64 1110811.699016 71091948.737046
256 936759.632868 239810466.014122
1024 409261.858485 419084143.088996
4096 1125959.863562 4611931601.149877
16384 634814.905339 10400807409.072746
65536 429433.495636 28143353569.976295
EOD
$ls_iceoryx << EOD
8 2527 405503
64 959 2559
256 1007 1551
1024 2527 118783
4096 839 20223
16384 3167 35327
65536 2463 11391
EOD
$tk_iceoryx << EOD
1 1110811.699016
2 453968.198312
4 153840.786097
EOD
$lk_iceoryx << EOD
1 959 2559
2 3391 655359
4 42495 679935
EOD
$ts_zmq << EOD
8 1428133.100166 11425064.801331
64 1063891.318139 68089044.360882
256 745188.258733 190768194.235551
1024 296213.521417 303322645.930601
4096 92112.653901 377293430.379545
16384 24750.947627 405519525.919703
65536 11369.207337 745092372.034200
EOD
$ls_zmq << EOD
8 1703935 5636095
64 1687551 6291455
256 1736703 5701631
1024 4390911 22806527
4096 8257535 16777215
16384 10223615 20971519
65536 3145727 7274495
EOD
$tk_zmq << EOD
1 1063891.318139
2 955508.297197
4 654232.488308
EOD
$lk_zmq << EOD
1 1687551 6291455
2 2359295 6291455
4 3407871 14680063
EOD
set terminal pngcairo size 1400,1000 font 'sans,10'
set output '/tmp/full3/bench.png'
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
