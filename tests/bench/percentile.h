// The one percentile the benches report, so dutyhub's and RabbitMQ's figures are read the
// same way: the value at rank floor(p * n) of the sorted values (0 for none).
#pragma once

#include <algorithm>
#include <vector>

namespace dutyhub::bench {

inline double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1,
                         static_cast<size_t>(p * static_cast<double>(values.size())))];
}

}  // namespace dutyhub::bench
