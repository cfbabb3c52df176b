$sw_ring << EOD
1 23.108305 33664748.383412
2 23.551986 11717005.204345
8 24.127011 4436006.332665
32 25.065208 711561.617096
128 25.088524 200984.591429
256 23.222976 101706.348910
512 20.542036 52870.762494
EOD
$sw_ring_inplace << EOD
1 20.302548 46882925.377132
2 21.565310 28637864.397464
8 23.473200 6183543.340381
32 23.664475 2135210.557413
128 22.238298 320910.249525
256 28.273382 127075.684657
512 25.665979 86252.230901
EOD
$sw_mutex << EOD
1 454.693429 2168283.971318
2 380.158296 1259768.786024
8 180.566384 817731.928256
32 509.711020 188596.046154
128 286.955049 98081.040205
256 331.946596 67860.248753
512 753.167903 21694.146269
EOD
$sw_spsc << EOD
1 132.878627 7506353.693741
2 151.164823 4499649.312788
8 63.468188 2267794.097488
32 1023.436688 969190.927710
128 3847.992113 256087.615756
256 9118.296151 103446.089292
512 20999.087170 43146.785610
EOD
$sw_iceoryx << EOD
1 2254.364367 442257.927587
2 4090.332481 172850.416497
8 16647.881823 59634.888143
32 76836.349106 12922.748928
128 186360.566293 5151.873548
256 372846.877953 2523.012956
EOD
$sw_zmq << EOD
1 280.271608 920894.098359
2 230.694255 815439.012288
8 536.386291 248418.132910
32 701.515776 55290.592887
128 2485.145102 20112.824686
256 18819.347418 13004.284692
512 145191.679499 6337.626428
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
