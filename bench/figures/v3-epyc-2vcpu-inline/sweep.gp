$sw_ring << EOD
1 16.272070 37781170.431202
2 14.690918 21228458.082624
8 15.272065 4862320.189907
32 22.575135 1251086.548583
128 16.926775 321877.127896
256 15.803108 209318.596919
512 13.673215 133617.904755
EOD
$sw_ring_inplace << EOD
1 55.999738 17537692.687365
2 30.127809 18805986.014552
8 26.262487 4559148.095982
32 77.642639 465476.819525
128 38.031771 219069.385099
256 46.470345 104162.882943
512 53.341722 53414.468522
EOD
$sw_mutex << EOD
1 146.529197 5880095.094598
2 168.611116 2732855.951371
8 148.376585 3576162.216055
32 199.422539 806615.834333
128 637.604190 225732.938295
256 278984.138587 730.051453
512 7841.887732 11030.404751
EOD
$sw_spsc << EOD
1 71.419907 13936244.817192
2 69.467397 8110928.195570
8 71.306431 2377037.794830
32 258.185149 999575.706136
128 2192.927430 455542.914990
256 5561.038586 176514.805937
512 13905.882540 69534.458199
EOD
$sw_iceoryx << EOD
1 1263.374469 779402.429196
2 3006.803682 220286.621481
8 9881.116585 98925.540816
32 19825.645464 50008.310652
128 89922.038992 10675.416175
256 186870.241559 4873.599886
EOD
$sw_zmq << EOD
1 123.512849 905599.283108
2 128.318816 946093.518186
8 205.756148 255710.675461
32 390.493425 90876.723142
128 2140.729246 27751.642838
256 6278.629768 14020.976158
512 15897.934832 10513.658060
EOD
set terminal pngcairo size 1400,560 font 'sans,10'
set output '/tmp/full3/sweep.png'
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
