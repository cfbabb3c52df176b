$ts_ring << EOD
8 37322709.331069 298581674.648552
64 46858975.974790 2998974462.386581
256 21109382.617574 5404001950.098960
1024 6161176.321408 6309044553.121622
4096 3447398.146673 14120542808.772165
16384 1731301.626992 28365645856.631191
65536 39874.349878 2613205393.627909
EOD
$ls_ring << EOD
8 104 10111
64 120 275
256 165 503
1024 363 13183
4096 3007 17407
16384 1471 23295
65536 5375 15487
EOD
$tk_ring << EOD
1 46858975.974790
2 19346206.249320
4 14135912.053528
EOD
$lk_ring << EOD
1 120 275
2 3039 13823
4 7551 22271
EOD
$ts_ring_inplace << EOD
8 25145775.203323 201166201.626583
64 16302960.073410 1043389444.698237
256 19199258.702891 4915010227.940219
1024 9707129.306262 9940100409.612309
4096 5643906.512518 23117441075.274105
16384 1807860.085333 29619979638.098354
65536 308284.046633 20203703280.121727
EOD
$ls_ring_inplace << EOD
8 287 2623
64 125 543
256 195 311
1024 205 671
4096 807 3135
16384 983 6655
65536 2879 11903
EOD
$tk_ring_inplace << EOD
1 16302960.073410
2 9197946.002106
4 4698500.016682
EOD
$lk_ring_inplace << EOD
1 125 543
2 3007 11775
4 9983 29951
EOD
$ts_mutex << EOD
8 5843567.892131 46748543.137048
64 5307239.540858 339663330.614915
256 1251484.153830 320379943.380603
1024 2139219.979348 2190561258.852318
4096 325260.783072 1332268167.463964
16384 223879.043150 3668034242.961439
65536 36316.307311 2380025515.944683
EOD
$ls_mutex << EOD
8 487 13951
64 171 999
256 225 607
1024 315 7359
4096 2359295 3375103
16384 24575 2293759
65536 7295 48639
EOD
$tk_mutex << EOD
1 5307239.540858
2 3111282.646607
4 1563266.597205
EOD
$lk_mutex << EOD
1 171 999
2 13055 131071
4 14847 69631
EOD
$ts_spsc << EOD
8 18340896.317026 146727170.536205
64 14625183.190297 936011724.179001
256 3805051.513041 974093187.338460
1024 7691415.845879 7876009826.179842
4096 776977.272496 3182498908.145543
16384 726520.438675 11903310867.248085
65536 53313.282263 3493939266.369384
EOD
$ls_spsc << EOD
8 503 2911
64 551 17407
256 169 435
1024 295 12159
4096 2591 9471
16384 7295 16383
65536 5695 16895
EOD
$tk_spsc << EOD
1 14625183.190297
2 8151875.368593
4 2863921.193304
EOD
$lk_spsc << EOD
1 551 17407
2 2271 10367
4 4671 11519
EOD
$ts_iceoryx << EOD
8 1093831.530248 8750652.241984
64 1131339.653045 72405737.794905
256 639432.203468 163694644.087876
1024 1235454.175363 1265105075.571353
4096 562800.520272 2305230931.035293
16384 731772.342016 11989358051.582647
65536 316545.160307 20745103625.870132
EOD
$ls_iceoryx << EOD
8 1967 16639
64 1935 15615
256 895 2335
1024 1887 8319
4096 2335 10367
16384 2463 9215
65536 2015 13439
EOD
$tk_iceoryx << EOD
1 1131339.653045
2 394861.373857
4 130948.837219
EOD
$lk_iceoryx << EOD
1 1935 15615
2 2207 532479
4 23807 327679
EOD
$ts_zmq << EOD
8 1243527.647278 9948221.178224
64 936869.338924 59959637.691148
256 713235.452853 182588275.930261
1024 428161.619359 438437498.223986
4096 95199.672496 389937858.543865
16384 28057.925150 459701045.657565
65536 10974.443201 719221109.617147
EOD
$ls_zmq << EOD
8 1490943 4587519
64 1785855 4325375
256 1703935 5308415
1024 4030463 12582911
4096 7405567 17825791
16384 7143423 15597567
65536 2195455 6094847
EOD
$tk_zmq << EOD
1 936869.338924
2 895373.786683
4 676441.309710
EOD
$lk_zmq << EOD
1 1785855 4325375
2 1769471 5046271
4 2785279 5570559
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
