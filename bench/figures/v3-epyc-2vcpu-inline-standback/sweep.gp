$sw_ring << EOD
1 17.387289 39045552.865152
2 17.749751 18211623.142145
8 18.945469 4633469.588941
32 22.767926 1142814.052812
128 15.894652 405689.252681
256 15.270618 142204.957446
512 17.050394 100392.575998
EOD
$sw_ring_inplace << EOD
1 16.863512 58656325.266792
2 14.214074 41519899.407230
8 16.572046 12669790.154196
32 16.700368 2564416.203737
128 15.148502 775673.626771
256 26.661406 365817.226966
512 18.118095 202607.584791
EOD
$sw_mutex << EOD
1 159.904402 5860179.425417
2 124.085254 2653802.196520
8 149.987578 1861754.992330
32 179.509724 718298.932753
128 185.512453 264720.634860
256 215.868614 53558.947776
512 1050872.974359 153.544684
EOD
$sw_spsc << EOD
1 61.328580 15101548.160237
2 65.364110 9056662.181448
8 64.982199 2070647.496332
32 116.522884 789471.408202
128 2731.210481 358099.893832
256 6300.285269 158469.102354
512 14300.320977 67392.262134
EOD
$sw_iceoryx << EOD
1 1264.373265 788556.252719
2 1136.411544 473156.193055
8 8230.295030 116994.710948
32 24406.881362 39889.097197
128 88637.338447 10530.159214
256 212416.120854 4373.021857
EOD
$sw_zmq << EOD
1 117.223740 1100233.174802
2 135.891568 886421.405398
8 177.850918 335529.695280
32 583.595255 89264.124441
128 1097.298270 21444.534964
256 7155.667128 15605.132153
512 56191.673416 11792.071813
EOD
set terminal pngcairo size 1400,560 font 'sans,10'
set output '/tmp/full4/sweep.png'
set multiplot layout 1,2 title 'shmcast-bench fan-out sweep: 64 B, readers blocking, 2 CPUs online'
set grid
set key top left
set logscale x 2
set xrange [0.9:600]
set xtics (1,2,8,32,128,256,512)
set xlabel 'readers K (log scale)'
set logscale y 10
set title 'producer CPU per message (unpaced)'
set ylabel 'producer CPU ns per message'
plot $sw_ring using 1:2 with linespoints lc 1 lw 2 pt 7 title 'ring', $sw_ring_inplace using 1:2 with linespoints lc 2 lw 2 pt 7 title 'ring-inplace', $sw_mutex using 1:2 with linespoints lc 3 lw 2 pt 7 title 'mutex', $sw_spsc using 1:2 with linespoints lc 4 lw 2 pt 7 title 'spsc-fanout', $sw_iceoryx using 1:2 with linespoints lc 5 lw 2 pt 7 title 'iceoryx', $sw_zmq using 1:2 with linespoints lc 6 lw 2 pt 7 title 'zmq'
set title 'delivered rate per reader (unpaced; readers time-share the cores)'
set ylabel 'messages/s per reader'
plot $sw_ring using 1:3 with linespoints lc 1 lw 2 pt 7 title 'ring', $sw_ring_inplace using 1:3 with linespoints lc 2 lw 2 pt 7 title 'ring-inplace', $sw_mutex using 1:3 with linespoints lc 3 lw 2 pt 7 title 'mutex', $sw_spsc using 1:3 with linespoints lc 4 lw 2 pt 7 title 'spsc-fanout', $sw_iceoryx using 1:3 with linespoints lc 5 lw 2 pt 7 title 'iceoryx', $sw_zmq using 1:3 with linespoints lc 6 lw 2 pt 7 title 'zmq'
unset multiplot
