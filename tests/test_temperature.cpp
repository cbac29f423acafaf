// Temperature schedules: end points, midpoints, monotonicity, bad settings.
#include <cmath>
#include <limits>

#include "base/error.h"
#include "models/temperature.h"
#include "tests/harness.h"

namespace lvk::test {
namespace {

TEST(TemperatureScheduleTest, ValuesAtKnownSteps) {
  TemperatureSchedule s{TemperatureKind::exponential, 2.0, 0.5, 100};
  EXPECT_FLOAT_EQ(s.at(0), 2.0f);
  EXPECT_FLOAT_EQ(s.at(50), 1.0f);  // geometric midpoint sqrt(2 * 0.5)
  EXPECT_FLOAT_EQ(s.at(100), 0.5f);
  EXPECT_FLOAT_EQ(s.at(1000), 0.5f);
  s.kind = TemperatureKind::cosine;
  EXPECT_FLOAT_EQ(s.at(0), 2.0f);
  EXPECT_FLOAT_EQ(s.at(50), 1.25f);  // arithmetic midpoint
  EXPECT_FLOAT_EQ(s.at(100), 0.5f);
  EXPECT_FLOAT_EQ(s.at(5000), 0.5f);
  s.kind = TemperatureKind::constant;
  EXPECT_FLOAT_EQ(s.at(0), 2.0f);
  EXPECT_FLOAT_EQ(s.at(77), 2.0f);
  for (TemperatureKind kind : {TemperatureKind::exponential, TemperatureKind::cosine}) {
    s.kind = kind;
    for (int64_t t = 1; t <= 120; ++t) EXPECT_LE(s.at(t), s.at(t - 1)) << "step " << t;
  }
}

TEST(TemperatureScheduleTest, BadSettings) {
  auto expect_error = [](const TemperatureSchedule& s, int64_t step, const std::string& what) {
    try {
      s.at(step);
      ADD_FAILURE() << "no error for " << what;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("temperature schedule"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  expect_error({TemperatureKind::cosine, 1.0, 0.0, 10}, 0, "tau_min=0");
  expect_error({TemperatureKind::exponential, 0.5, 1.0, 10}, 0, "tau_max=0.5");
  expect_error({TemperatureKind::exponential, 1.0, 0.5, 0}, 0, "steps=0");
  expect_error({TemperatureKind::constant, -1.0, 1.0, 1}, 0, "tau_max=-1");
  expect_error({TemperatureKind::cosine, std::numeric_limits<double>::infinity(), 0.5, 10}, 0, "tau_max=inf");
  expect_error({TemperatureKind::cosine, 1.0, 0.5, 10}, -1, "step=-1");
  EXPECT_EQ(parse_temperature_kind("cosine"), TemperatureKind::cosine);
  EXPECT_THROW(parse_temperature_kind("linear"), Error);
}

}  // namespace
}  // namespace lvk::test
