$sw_ring << EOD
1 55.114614 18099854.940884
2 52.416029 10375281.265480
8 59.022303 2455485.938141
32 55.089046 636867.514849
128 52.573560 188659.153198
256 51.972238 97277.628488
512 53.842999 54822.477082
EOD
$sw_ring_inplace << EOD
1 53.573979 18498768.858217
2 187.040040 4251651.037930
8 51.758126 2887977.639255
32 53.739291 704133.272890
128 53.362170 190232.893651
256 53.094658 104352.437729
512 192.252416 34534.679226
EOD
$sw_mutex << EOD
1 135.127766 5835102.644988
2 537.893322 1490369.216963
8 143.359578 3283873.608168
32 126.622754 1753089.083894
128 163.879976 463777.962706
256 2573.536812 33476.848089
512 640355.937063 283.352281
EOD
$sw_spsc << EOD
1 66.370838 14849758.316729
2 258.972259 3318078.775538
8 72.717986 2594632.599435
32 125.535782 1146774.490533
128 2284.749330 427336.850731
256 6331.146405 156191.142819
512 11883.367046 82455.831410
EOD
$sw_iceoryx << EOD
1 909.480717 1096901.409451
2 1910.795899 306813.278282
8 6007.850836 164439.330620
32 27493.491580 36206.255192
128 88680.008675 11040.988995
256 176694.842684 5400.982582
EOD
$sw_zmq << EOD
1 100.316969 919136.606223
2 124.321950 920531.184199
8 179.548563 466730.694773
32 471.938367 123143.232743
128 1120.376953 22766.026596
256 2974.492057 16685.518569
512 7569.287210 10601.671761
EOD
set terminal pngcairo size 1400,560 font 'sans,10'
set output '/tmp/fullrun2/sweep.png'
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
