$ts_ring << EOD
8 69966188.782929 559729510.263434
64 51020838.853561 3265333686.627873
256 40253255.145803 10304833317.325485
1024 22572576.697559 23114318538.300400
4096 10535820.247998 43154719735.801399
16384 147895.392670 2423118113.507751
65536 458336.910334 30037567755.652531
EOD
$ls_ring << EOD
8 95 225
64 315 575
256 221 14463
1024 323 16127
4096 807 8191
16384 7295 13055
65536 31743 69631
EOD
$tk_ring << EOD
1 51020838.853561
2 28720216.051245
4 16205469.471480
EOD
$lk_ring << EOD
1 315 575
2 2911 12799
4 7487 103423
EOD
$ts_ring_inplace << EOD
8 75571862.689900 604574901.519201
64 56225609.692224 3598439020.302304
256 50291875.835660 12874720213.928885
1024 14208226.921313 14549224367.424393
4096 7991157.059233 32731779314.616753
16384 1153407.603651 18897430178.219589
65536 442791.108917 29018758113.973980
EOD
$ls_ring_inplace << EOD
8 115 267
64 331 647
256 201 83967
1024 211 3807
4096 351 1839
16384 1375 10111
65536 1967 9727
EOD
$tk_ring_inplace << EOD
1 56225609.692224
2 24817524.699964
4 12831042.839164
EOD
$lk_ring_inplace << EOD
1 331 647
2 3039 10239
4 7743 45055
EOD
$ts_mutex << EOD
8 7022816.556321 56182532.450565
64 5792220.918603 370702138.790609
256 4130318.530852 1057361543.898187
1024 3343906.652025 3424160411.673476
4096 613358.357092 2512315830.649442
16384 64984.972637 1064713791.692301
65536 101662.144999 6662530334.641681
EOD
$ls_mutex << EOD
8 161 383
64 567 1695
256 251 11647
1024 371 1081343
4096 735 10239
16384 27903 2949119
65536 15103 73727
EOD
$tk_mutex << EOD
1 5792220.918603
2 1394466.023206
4 615849.634240
EOD
$lk_mutex << EOD
1 567 1695
2 12287 60927
4 12671 57343
EOD
$ts_spsc << EOD
8 18128184.133279 145025473.066233
64 14905523.555175 953953507.531214
256 15101112.968716 3865884919.991374
1024 6887805.020577 7053112341.071232
4096 4481533.756504 18356362266.642181
16384 351121.131888 5752768624.846937
65536 581087.315514 38082138309.549110
EOD
$ls_spsc << EOD
8 575 951
64 551 831
256 231 1951
1024 1055 3103
4096 695 10367
16384 5695 10239
65536 16639 40959
EOD
$tk_spsc << EOD
1 14905523.555175
2 2580318.667017
4 1278358.875063
EOD
$lk_spsc << EOD
1 551 831
2 2239 5631
4 4479 9087
EOD
$ts_iceoryx << EOD
8 1266803.920733 10134431.365865
64 991901.347024 63481686.209539
256 1079774.761131 276422338.849605
1024 1295211.155199 1326296222.923629
4096 1264845.124391 5180805629.503931
16384 509301.135964 8344389811.632468
65536 471107.448785 30874497763.587418
EOD
$ls_iceoryx << EOD
8 2495 7167
64 1919 5759
256 1071 11903
1024 2047 4223
4096 863 2559
16384 2463 4287
65536 3103 7231
EOD
$tk_iceoryx << EOD
1 991901.347024
2 302924.614379
4 135647.877599
EOD
$lk_iceoryx << EOD
1 1919 5759
2 2207 516095
4 31231 598015
EOD
$ts_zmq << EOD
8 1371781.365838 10974250.926704
64 892510.383091 57120664.517849
256 682695.618920 174770078.443404
1024 447418.879370 458156932.474982
4096 130005.657684 532503173.875108
16384 34282.508790 561684624.011352
65536 14735.750966 965722175.323479
EOD
$ls_zmq << EOD
8 1802239 4161535
64 1490943 4784127
256 1703935 5767167
1024 4456447 14417919
4096 6225919 14680063
16384 6619135 14811135
65536 2080767 6094847
EOD
$tk_zmq << EOD
1 892510.383091
2 967408.351723
4 771086.879824
EOD
$lk_zmq << EOD
1 1490943 4784127
2 2064383 4849663
4 2260991 6356991
EOD
set terminal pngcairo size 1400,1000 font 'sans,10'
set output 'bench.png'
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
