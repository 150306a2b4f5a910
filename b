check                        loss              group  value      baseline  rule                  result
regression stays accurate    huber(delta=0.5)  (all)  0.24802    -         <= 0.3                passed
regression stays accurate    huber(delta=0.5)  east   0.278703   -         <= 0.3                passed
regression stays accurate    huber(delta=0.5)  north  0.193836   -         <= 0.3                passed
regression stays accurate    huber(delta=0.5)  south  0.280727   -         <= 0.3                passed
regression stays accurate    huber(delta=0.5)  west   0.238749   -         <= 0.3                passed
regression stays accurate    mse               (all)  2.55958    -         <= 3.5                passed
regression stays accurate    mse               east   2.9268     -         <= 3.5                passed
regression stays accurate    mse               north  1.55472    -         <= 3.5                passed
regression stays accurate    mse               south  3.18983    -         <= 3.5                passed
regression stays accurate    mse               west   2.55856    -         <= 3.5                passed
retrained model is no worse  mse               (all)  2.5606     2.55958   Δ <= 0.01·|baseline|  passed
retrained model is no worse  huber             (all)  0.400091   0.399787  Δ <= 0.01·|baseline|  passed
imbalanced classifier        focal(gamma=2)    (all)  0.0341671  -         <= 0.05               passed
imbalanced classifier        bce               (all)  0.118751   -         <= 0.15               passed

3 of 3 checks passed
