$ts_ring << EOD
8 44645615.238924 357164921.911389
64 33885626.488808 2168680095.283708
256 24951815.720365 6387664824.413351
1024 19545977.550775 20015081011.993526
4096 6196072.979024 25379114922.083900
16384 1847827.713761 30274809262.259869
65536 434254.460640 28459300332.512230
EOD
$ls_ring << EOD
8 295 1455
64 125 283
256 201 15743
1024 283 2687
4096 751 11391
16384 1519 4415
65536 24575 92159
EOD
$tk_ring << EOD
1 33885626.488808
2 18566718.385126
4 9163532.232990
EOD
$lk_ring << EOD
1 125 283
2 2879 11519
4 7679 315391
EOD
$ts_ring_inplace << EOD
8 75212347.469119 601698779.752953
64 51521296.215639 3297362957.800906
256 41174753.612937 10540736924.911821
1024 15824284.644719 16204067476.192202
4096 2828646.412749 11586135706.618744
16384 2462597.287132 40347193952.369659
65536 454433.504993 29781754183.230835
EOD
$ls_ring_inplace << EOD
8 295 567
64 119 219
256 185 14335
1024 195 3263
4096 443 2431
16384 1183 3839
65536 4927 34303
EOD
$tk_ring_inplace << EOD
1 51521296.215639
2 30311120.759406
4 13246917.074440
EOD
$lk_ring_inplace << EOD
1 119 219
2 2943 7935
4 8703 59903
EOD
$ts_mutex << EOD
8 4880006.007852 39040048.062816
64 2006481.276027 128414801.665700
256 3877083.290906 992533322.471931
1024 2292330.139850 2347346063.206511
4096 328750.194768 1346560797.769645
16384 305036.534975 4997718589.038008
65536 33100.765779 2169291786.081405
EOD
$ls_mutex << EOD
8 551 4671
64 155 267
256 225 17919
1024 303 11135
4096 743 68607
16384 1727 55295
65536 5887 835583
EOD
$tk_mutex << EOD
1 2006481.276027
2 2872560.789884
4 752771.000679
EOD
$lk_mutex << EOD
1 155 267
2 12927 60415
4 16639 73727
EOD
$ts_spsc << EOD
8 17884527.221173 143076217.769386
64 4352142.258073 278537104.516642
256 12889659.435252 3299752815.424560
1024 7289162.309474 7464102204.901031
4096 872958.557617 3575638251.998958
16384 736405.291994 12065264304.031548
65536 62004.124479 4063502301.875734
EOD
$ls_spsc << EOD
8 519 1007
64 125 245
256 225 8319
1024 271 2175
4096 751 5567
16384 1711 7231
65536 6719 13567
EOD
$tk_spsc << EOD
1 4352142.258073
2 7738961.782888
4 1314580.634386
EOD
$lk_spsc << EOD
1 125 245
2 2239 5311
4 4927 23551
EOD
$ts_iceoryx << EOD
8 476793.799782 3814350.398258
64 532238.701562 34063276.899955
256 1091097.885308 279321058.638959
1024 1233454.702975 1263057615.846417
4096 403277.102581 1651823012.172158
16384 714121.282392 11700163090.716387
65536 287746.817575 18857775436.627350
EOD
$ls_iceoryx << EOD
8 887 1343
64 807 3615
256 871 1503
1024 751 1599
4096 831 2399
16384 1455 5055
65536 2303 9599
EOD
$tk_iceoryx << EOD
1 532238.701562
2 350293.228719
4 103042.793320
EOD
$lk_iceoryx << EOD
1 807 3615
2 2975 540671
4 21759 638975
EOD
$ts_zmq << EOD
8 1682387.593669 13459100.749351
64 974394.745850 62361263.734424
256 713141.512220 182564227.128202
1024 367239.001129 376052737.155775
4096 90364.868800 370134502.603688
16384 24755.397864 405592438.607899
65536 11697.924292 766635166.392028
EOD
$ls_zmq << EOD
8 1490943 4653055
64 1835007 4456447
256 2047999 4784127
1024 2883583 11796479
4096 6291455 14417919
16384 8781823 16646143
65536 2981887 6356991
EOD
$tk_zmq << EOD
1 974394.745850
2 848905.976936
4 676538.183666
EOD
$lk_zmq << EOD
1 1835007 4456447
2 1949695 5373951
4 2686975 7077887
EOD
set terminal pngcairo size 1400,1000 font 'sans,10'
set output '/tmp/full4/bench.png'
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
