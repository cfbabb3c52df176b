$sw_ring << EOD
1 20.939075 24003117.163766
2 27.843509 11566444.473091
8 19.503957 3983410.723602
32 31.268471 970893.450494
128 26.964079 193279.682677
256 29.855224 105555.843567
512 28.913444 58503.418385
EOD
$sw_ring_inplace << EOD
1 30.781120 30305533.102617
2 66.656733 8023451.925799
8 30.017864 4130633.406527
32 35.863149 974126.189001
128 24.113336 335622.121694
256 27.190298 154801.113970
512 60.554244 47670.593006
EOD
$sw_mutex << EOD
1 188.913574 3628254.744364
2 228.998045 1828230.353325
8 269.888893 812620.741683
32 273.006894 257279.197199
128 3391.764373 23273.239770
256 210.415500 89883.949721
512 154.070417 47281.375560
EOD
$sw_spsc << EOD
1 97.524258 9134948.805732
2 27.453470 19254832.693396
8 80.703148 2086767.656074
32 149.490406 850749.050111
128 3427.360876 288217.274638
256 8230.157926 116722.978096
512 23315.932957 39446.944108
EOD
$sw_iceoryx << EOD
1 3229.998956 302629.290462
2 3519.871401 197555.605582
8 15014.803980 65605.566131
32 55666.929911 17758.555320
128 199451.013360 4902.051455
256 390048.135792 2360.063530
EOD
$sw_zmq << EOD
1 260.597907 998926.605434
2 309.930171 790963.663963
8 258.919798 228895.308475
32 1015.912927 61176.370773
128 3589.427023 18863.359663
256 29029.380510 15231.164851
512 138932.269940 6621.544254
EOD
set terminal pngcairo size 1400,560 font 'sans,10'
set output 'sweep.png'
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
