$ts_ring << EOD
8 30283870.594599 242270964.756794
64 24085406.048860 1541465987.127070
256 15327927.764102 3923949507.610161
1024 9835587.710677 10071641815.733027
4096 969328.730462 3970370479.971859
16384 311316.232779 5100605157.848127
65536 90556.707299 5934724369.529445
EOD
$ls_ring << EOD
8 131 12287
64 131 895
256 855 3571711
1024 927 7551
4096 2079 421887
16384 1855 598015
65536 17663 53759
EOD
$tk_ring << EOD
1 24085406.048860
2 13697129.724624
4 7316306.613112
EOD
$lk_ring << EOD
1 131 895
2 4351 278527
4 11903 91135
EOD
$ts_ring_inplace << EOD
8 16537166.590701 132297332.725608
64 22500560.163631 1440035850.472358
256 19535425.829126 5001069012.256222
1024 4407776.332643 4513562964.626112
4096 1886748.168086 7728120496.481133
16384 1875593.082985 30729717071.630260
65536 320636.448134 21013230264.881161
EOD
$ls_ring_inplace << EOD
8 131 13055
64 331 11647
256 503 3103
1024 711 28415
4096 943 29951
16384 1119 13567
65536 4671 25343
EOD
$tk_ring_inplace << EOD
1 22500560.163631
2 14499970.250675
4 7134712.830631
EOD
$lk_ring_inplace << EOD
1 331 11647
2 4799 671743
4 13055 61439
EOD
$ts_mutex << EOD
8 2912155.577622 23297244.620977
64 2578855.706391 165046765.209038
256 2455386.048238 628578828.348958
1024 903495.093148 925178975.383058
4096 693084.831553 2838875470.040637
16384 260853.515579 4273823999.248869
65536 46007.151377 3015124672.634755
EOD
$ls_mutex << EOD
8 201 688127
64 211 479231
256 831 4223
1024 903 28159
4096 6207 397311
16384 1487 22015
65536 12927 61951
EOD
$tk_mutex << EOD
1 2578855.706391
2 2219614.371398
4 1001241.394960
EOD
$lk_mutex << EOD
1 211 479231
2 12927 1753087
4 13951 63487
EOD
$ts_spsc << EOD
8 11480176.260159 91841410.081270
64 8655113.393107 553927257.158846
256 4477198.669558 1146162859.406975
1024 8180532.472050 8376865251.379220
4096 3018183.064922 12362477833.921623
16384 1133701.144739 18574559555.411797
65536 148970.085633 9762903532.060848
EOD
$ls_spsc << EOD
8 201 1695
64 181 24063
256 231 1135
1024 935 11775
4096 1935 25087
16384 2079 12287
65536 13183 46591
EOD
$tk_spsc << EOD
1 8655113.393107
2 8883058.416345
4 1467067.280820
EOD
$lk_spsc << EOD
1 181 24063
2 3583 25343
4 9983 47615
EOD
$ts_iceoryx << EOD
8 369572.297229 2956578.377829
64 360078.282609 23045010.086967
256 384736.403013 98492519.171452
1024 380829.386307 389969291.578248
4096 548999.431497 2248701671.410350
16384 407882.062934 6682739719.113802
65536 256614.920431 16817515425.376841
EOD
$ls_iceoryx << EOD
8 1663 598015
64 2911 89087
256 1375 3071
1024 1567 48639
4096 3519 141311
16384 3487 25087
65536 5247 40447
EOD
$tk_iceoryx << EOD
1 360078.282609
2 293630.658855
4 84083.709694
EOD
$lk_iceoryx << EOD
1 2911 89087
2 4479 958463
4 52735 1212415
EOD
$ts_zmq << EOD
8 1424190.225772 11393521.806175
64 969198.637701 62028712.812878
256 638560.989705 163471613.364563
1024 262003.296627 268291375.746341
4096 80020.998518 327766009.930444
16384 20373.684425 333802445.622239
65536 9568.500035 627081218.307771
EOD
$ls_zmq << EOD
8 2457599 12189695
64 2228223 4915199
256 1851391 6094847
1024 5963775 15728639
4096 9437183 21757951
16384 8650751 16777215
65536 3997695 9043967
EOD
$tk_zmq << EOD
1 969198.637701
2 867165.575793
4 530459.418326
EOD
$lk_zmq << EOD
1 2228223 4915199
2 2719743 8519679
4 3440639 8257535
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
