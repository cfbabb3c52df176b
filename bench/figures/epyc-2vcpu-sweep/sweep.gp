$sw_ring << EOD
1 55.468712 2772452.445124
2 158.593927 1820257.723661
8 124.446291 570368.616462
32 41.849575 105902.542141
128 46.136202 17658.414755
256 39.912735 34075.042582
512 47.209675 62985.488012
EOD
$sw_mutex << EOD
1 28.813991 1036180.338872
2 386.486488 888648.878851
8 535.214580 547349.340226
32 144.539125 163581.864011
128 20337.271714 3383.399606
256 36289.419940 1272.826519
512 1058966.243243 70.986206
EOD
$sw_spsc << EOD
1 19.475488 1880134.737883
2 34.114520 893593.572074
8 57.335259 201865.175567
32 382.606495 57519.543482
128 6569.759381 2712.200053
256 11434.871158 10143.431600
512 27495.958227 2999.538922
EOD
$sw_iceoryx << EOD
1 1412.798911 192316.326009
2 2893.187303 112780.769274
8 8680.244705 35889.835159
32 19966.590394 9183.391647
128 81275.184573 663.394623
256 157475.800373 683.843767
EOD
$sw_zmq << EOD
1 122.517108 644435.492021
2 125.557055 561592.528766
8 179.141054 452602.486237
32 575.503599 27186.900956
128 22120.273267 1052.018805
256 6461.456395 9733.683307
512 55788.819498 6888.963021
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
plot $sw_ring using 1:2 with linespoints lc 1 lw 2 pt 7 title 'ring', $sw_mutex using 1:2 with linespoints lc 2 lw 2 pt 7 title 'mutex', $sw_spsc using 1:2 with linespoints lc 3 lw 2 pt 7 title 'spsc-fanout', $sw_iceoryx using 1:2 with linespoints lc 4 lw 2 pt 7 title 'iceoryx', $sw_zmq using 1:2 with linespoints lc 5 lw 2 pt 7 title 'zmq'
set title 'delivered rate per reader (unpaced; readers time-share the cores)'
set ylabel 'messages/s per reader'
plot $sw_ring using 1:3 with linespoints lc 1 lw 2 pt 7 title 'ring', $sw_mutex using 1:3 with linespoints lc 2 lw 2 pt 7 title 'mutex', $sw_spsc using 1:3 with linespoints lc 3 lw 2 pt 7 title 'spsc-fanout', $sw_iceoryx using 1:3 with linespoints lc 4 lw 2 pt 7 title 'iceoryx', $sw_zmq using 1:3 with linespoints lc 5 lw 2 pt 7 title 'zmq'
unset multiplot
