$ts_ring << EOD
8 30623776.524968 244990212.199742
64 22442925.617546 1436347239.522939
256 15494889.924156 3966691820.583811
1024 3636791.740674 3724074742.450289
4096 3749732.273740 15358903393.239111
16384 775318.150780 12702812582.372591
65536 293050.964418 19205388004.077171
EOD
$ls_ring << EOD
8 351 5759
64 151 3839
256 567 47615
1024 975 311295
4096 2079 51199
16384 4991 25855
65536 7295 34815
EOD
$tk_ring << EOD
1 22442925.617546
2 14000047.436052
4 5353764.093773
EOD
$lk_ring << EOD
1 151 3839
2 5311 44031
4 10879 44031
EOD
$ts_ring_inplace << EOD
8 40551261.084084 324410088.672672
64 36941622.133971 2364263816.574168
256 25892788.395336 6628553829.206031
1024 5337141.069537 5465232455.205761
4096 2831384.701428 11597351737.051092
16384 1683242.621185 27578247105.503208
65536 419497.644673 27492197641.296780
EOD
$ls_ring_inplace << EOD
8 363 9087
64 411 1007
256 491 12799
1024 527 1146879
4096 983 13183
16384 1791 9215
65536 4479 29951
EOD
$tk_ring_inplace << EOD
1 36941622.133971
2 23542896.873661
4 10595802.313118
EOD
$lk_ring_inplace << EOD
1 411 1007
2 5631 36863
4 11135 61439
EOD
$ts_mutex << EOD
8 3375261.145375 27002089.163004
64 2192251.767003 140304113.088197
256 3346072.051112 856594445.084610
1024 846145.780643 866453279.378900
4096 707103.903357 2896297588.148360
16384 217163.829195 3558012177.528397
65536 39145.197485 2565419662.368583
EOD
$ls_mutex << EOD
8 671 5951
64 655 6591
256 831 10495
1024 1023 1835007
4096 743 606207
16384 1663 29951
65536 8447 46079
EOD
$tk_mutex << EOD
1 2192251.767003
2 2364213.481237
4 817857.403934
EOD
$lk_mutex << EOD
1 655 6591
2 12671 47615
4 17407 65023
EOD
$ts_spsc << EOD
8 8651919.236018 69215353.888148
64 7260003.307716 464640211.693838
256 14311930.230009 3663854138.882236
1024 4316876.043776 4420481068.826225
4096 1303930.790364 5340900517.331491
16384 561060.426122 9192414021.588409
65536 100804.771025 6606341473.917618
EOD
$ls_spsc << EOD
8 655 1871
64 655 6079
256 687 155647
1024 371 247807
4096 751 63487
16384 4287 41983
65536 13311 54271
EOD
$tk_spsc << EOD
1 7260003.307716
2 8779013.969567
4 4236201.734046
EOD
$lk_spsc << EOD
1 655 6079
2 3839 16639
4 7359 28159
EOD
$ts_iceoryx << EOD
8 351094.294660 2808754.357277
64 369872.675852 23671851.254532
256 578380.046315 148065291.856617
1024 441322.014694 451913743.046758
4096 524452.012312 2148155442.431199
16384 270319.052895 4428907362.627386
65536 177842.471491 11655084211.661076
EOD
$ls_iceoryx << EOD
8 3391 169983
64 3231 50175
256 3487 266239
1024 3487 442367
4096 3551 421887
16384 3039 11263
65536 4223 20735
EOD
$tk_iceoryx << EOD
1 369872.675852
2 250152.999000
4 108631.347732
EOD
$lk_iceoryx << EOD
1 3231 50175
2 3039 753663
4 34815 1146879
EOD
$ts_zmq << EOD
8 1340842.801948 10726742.415583
64 873820.242957 55924495.549271
256 636037.566311 162825616.975668
1024 292969.800290 300001075.497117
4096 86099.466205 352663413.577495
16384 20965.706033 343502127.638567
65536 10540.424710 690777273.764322
EOD
$ls_zmq << EOD
8 1949695 5570559
64 1916927 5308415
256 2621439 12189695
1024 10616831 22020095
4096 11141119 24641535
16384 8650751 16646143
65536 3702783 9043967
EOD
$tk_zmq << EOD
1 873820.242957
2 809674.668914
4 518694.974187
EOD
$lk_zmq << EOD
1 1916927 5308415
2 2883583 5505023
4 3440639 8519679
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
