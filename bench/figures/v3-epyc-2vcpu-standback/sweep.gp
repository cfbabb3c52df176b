$sw_ring << EOD
1 15.220989 59173032.541483
2 22.129828 19440144.449025
8 16.723688 8018892.238598
32 17.400064 1622993.178906
128 17.260056 466147.305619
256 16.328681 271052.326848
512 14.466848 132811.236736
EOD
$sw_ring_inplace << EOD
1 20.086416 46352999.110778
2 16.483782 53436459.822845
8 22.918817 13220274.618283
32 16.408436 3430689.037857
128 15.402054 951821.635637
256 23.028517 427413.692705
512 18.887314 192419.665490
EOD
$sw_mutex << EOD
1 128.561488 6252134.712937
2 352.826907 1305613.057793
8 566.300123 311593.248419
32 130.545774 1657541.454468
128 809.307565 165774.762098
256 780.090203 45678.166368
512 872486.183673 194.117990
EOD
$sw_spsc << EOD
1 61.357744 14170917.760297
2 241.835557 2884319.214507
8 329.100550 966572.399713
32 85.215362 547941.828147
128 2138.946356 465803.653658
256 4465.232989 222196.121707
512 13916.730249 69873.508644
EOD
$sw_iceoryx << EOD
1 855.730146 1166117.153589
2 2025.882053 279704.665062
8 7273.172526 137084.913083
32 20155.713236 49049.770575
128 97355.269870 9778.285059
256 146976.941574 6478.405582
EOD
$sw_zmq << EOD
1 107.789494 948297.315600
2 122.588854 932910.132373
8 167.064652 378688.373475
32 376.357956 135217.872437
128 1425.957484 28653.120047
256 4000.765672 15485.936269
512 7984.244590 10767.317261
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
