$sw_ring << EOD
1 14.121315 64578294.843022
2 13.976270 34366279.143851
8 15.697280 7643963.511577
32 17.771382 1373575.655079
128 15.623848 507393.731752
256 21.960917 173807.523719
512 20.615383 96223.924204
EOD
$sw_ring_inplace << EOD
1 56.525358 16970637.543857
2 46.982688 12277964.563519
8 38.714532 3661801.855447
32 25.144471 1215400.374873
128 46.666736 240212.676379
256 26.130207 165046.022174
512 42.358384 70150.428267
EOD
$sw_mutex << EOD
1 170.533569 5677789.932321
2 124.559501 3011663.879482
8 130.406764 3585878.031259
32 600.334436 649250.965772
128 289.010363 367641.090138
256 11008.761660 13497.323444
512 1177847.837209 170.582719
EOD
$sw_spsc << EOD
1 61.681911 14282376.762368
2 175.815739 3191290.630028
8 72.273459 2303103.786224
32 87.195042 519993.922490
128 2503.945429 396672.607770
256 6160.195602 158211.225234
512 10706.742869 92198.525004
EOD
$sw_iceoryx << EOD
1 940.758372 1059423.713438
2 1466.009658 373612.928194
8 5706.750665 172706.927759
32 30330.999455 32274.778041
128 93833.674486 10155.084540
256 164718.513569 5810.708968
EOD
$sw_zmq << EOD
1 109.485396 934871.557621
2 135.003298 999745.872376
8 242.885935 374396.109873
32 357.136596 105241.555919
128 1343.300602 22238.825862
256 4852.959544 16361.286085
512 13047.500137 10721.680341
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
