// The generic settings table: precedence (flag > variable > default), both
// flag forms, typed parsing with ranges, errors that name the flag and the
// variable, and --help generated from the rows.
#include "pipeline/settings.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nf2 {
namespace {

using ::testing::HasSubstr;

enum class Color { kRed, kBlue };

struct Demo {
  int count = -1;
  uint64_t big = 0;
  double ratio = -1;
  absl::Duration wait;
  absl::Duration interval;
  std::string name;
  bool on = false;
  bool quiet = false;
  Color color = Color::kRed;
  std::string list;
};

SettingsTable Table(Demo* d) {
  return {
      {"count", "COUNT", "N", "3", "how many", IntInto(&d->count, 1, 10)},
      {"big", "BIG", "N", "0", "a large one", Uint64Into(&d->big, 0, UINT64_MAX)},
      {"ratio", "", "R", "0.5", "a share", DoubleInto(&d->ratio, 0, 1)},
      {"wait", "WAIT", "SECONDS", "1", "a wait", SecondsInto(&d->wait, {absl::Milliseconds(1)})},
      {"interval", "INTERVAL", "SECONDS", "10", "0 = off",
       SecondsInto(&d->interval, {absl::Milliseconds(100), true})},
      {"name", "NAME", "TEXT", "", "a name", StringInto(&d->name, false)},
      {"on", "ON", "", "false", "a boolean", BoolInto(&d->on), FlagValue::kOptional},
      {"quiet", "", "", "", "a switch", BoolInto(&d->quiet), FlagValue::kNone},
      {"color", "COLOR", "NAME", "red", "red or blue",
       ChoiceInto(&d->color, {{"red", Color::kRed}, {"blue", Color::kBlue}})},
      {"item", "ITEMS", "TEXT", "", "repeatable", StringInto(&d->list), FlagValue::kRequired,
       /*repeatable=*/true},
  };
}

using Env = std::map<std::string, std::string>;

struct Loaded {
  Demo demo;
  absl::StatusOr<LoadedSettings> result;
};

Loaded Load(const Env& env, const std::vector<std::string>& args, bool positional = false) {
  Loaded l;
  const SettingsTable table = Table(&l.demo);
  SettingsLoadOptions options;
  options.allow_positional = positional;
  l.result = LoadSettings(
      table, args,
      [&env](const char* name) -> const char* {
        auto it = env.find(name);
        return it == env.end() ? nullptr : it->second.c_str();
      },
      options);
  return l;
}

std::string ErrorOf(const Env& env, const std::vector<std::string>& args) {
  Loaded l = Load(env, args);
  EXPECT_FALSE(l.result.ok());
  if (l.result.ok()) return "";
  EXPECT_EQ(l.result.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(l.result.status().message());
}

TEST(SettingsTest, DefaultsThenEnvironmentThenFlags) {
  Loaded l = Load({}, {});
  ASSERT_TRUE(l.result.ok()) << l.result.status();
  EXPECT_EQ(l.demo.count, 3);
  EXPECT_DOUBLE_EQ(l.demo.ratio, 0.5);
  EXPECT_EQ(l.demo.wait, absl::Seconds(1));
  EXPECT_EQ(l.demo.name, "");  // empty default, not given: not parsed
  EXPECT_FALSE(l.result->Given("count"));

  l = Load({{"COUNT", "5"}}, {});
  ASSERT_TRUE(l.result.ok());
  EXPECT_EQ(l.demo.count, 5);
  EXPECT_TRUE(l.result->Given("count"));

  for (const auto& args :
       {std::vector<std::string>{"--count=7"}, std::vector<std::string>{"--count", "7"},
        std::vector<std::string>{"--count=1", "--count", "7"}}) {
    l = Load({{"COUNT", "5"}}, args);
    ASSERT_TRUE(l.result.ok()) << l.result.status();
    EXPECT_EQ(l.demo.count, 7);
  }
  // A bad variable overridden by a flag is never parsed.
  l = Load({{"COUNT", "junk"}}, {"--count=2"});
  ASSERT_TRUE(l.result.ok()) << l.result.status();
  EXPECT_EQ(l.demo.count, 2);
}

TEST(SettingsTest, ARepeatableFlagCollectsEveryOccurrenceAndReplacesTheVariable) {
  Loaded l = Load({{"ITEMS", "x,y"}}, {});
  ASSERT_TRUE(l.result.ok()) << l.result.status();
  EXPECT_EQ(l.demo.list, "x,y");
  l = Load({{"ITEMS", "x,y"}}, {"--item=a", "--item", "b", "--count=2", "--item=c"});
  ASSERT_TRUE(l.result.ok()) << l.result.status();
  EXPECT_EQ(l.demo.list, "a\nb\nc");  // one occurrence per line
  // Any other flag given twice: the last one wins.
  EXPECT_EQ(l.demo.count, 2);
}

TEST(SettingsTest, ErrorsNameTheFlagAndTheVariable) {
  std::string msg = ErrorOf({{"COUNT", "11"}}, {});
  EXPECT_THAT(msg, HasSubstr("--count / COUNT='11'"));
  EXPECT_THAT(msg, HasSubstr("at most 10"));
  EXPECT_THAT(ErrorOf({}, {"--count=0"}), HasSubstr("greater than 0"));
  EXPECT_THAT(ErrorOf({}, {"--count=1e1"}), HasSubstr("whole number"));
  EXPECT_THAT(ErrorOf({}, {"--ratio=1.5"}), HasSubstr("--ratio='1.5'"));
  EXPECT_THAT(ErrorOf({}, {"--big=-1"}), HasSubstr("--big / BIG"));
  EXPECT_THAT(ErrorOf({{"NAME", ""}}, {}), HasSubstr("NAME"));
  EXPECT_THAT(ErrorOf({{"COLOR", "green"}}, {}), HasSubstr("red, blue"));
  EXPECT_THAT(ErrorOf({{"ON", "maybe"}}, {}), HasSubstr("--on / ON"));
  EXPECT_THAT(ErrorOf({}, {"--nope=secret"}), ::testing::Not(HasSubstr("secret")));
  EXPECT_THAT(ErrorOf({}, {"--count"}), HasSubstr("needs a value"));
  EXPECT_THAT(ErrorOf({}, {"--quiet=1"}), HasSubstr("takes no value"));
  EXPECT_THAT(ErrorOf({}, {"stray"}), HasSubstr("stray"));
}

TEST(SettingsTest, SecondsAreDecimalWithAFloor) {
  for (const char* bad : {"0x10", "inf", "nan", "-1", "0", "0.0005", "1s", ""}) {
    EXPECT_THAT(ErrorOf({{"WAIT", bad}}, {}), HasSubstr("WAIT")) << bad;
  }
  Loaded l = Load({{"WAIT", "0.25"}, {"INTERVAL", "0"}}, {});
  ASSERT_TRUE(l.result.ok()) << l.result.status();
  EXPECT_EQ(l.demo.wait, absl::Milliseconds(250));
  EXPECT_EQ(l.demo.interval, absl::ZeroDuration());
  EXPECT_THAT(ErrorOf({{"INTERVAL", "1e-9"}}, {}), HasSubstr("or 0 = off"));
}

TEST(SettingsTest, BooleansSwitchesChoicesAndPositionals) {
  Loaded l = Load({{"COLOR", "blue"}}, {"--on", "--quiet", "a", "-", "--", "--count=9"}, true);
  ASSERT_TRUE(l.result.ok()) << l.result.status();
  EXPECT_TRUE(l.demo.on);
  EXPECT_TRUE(l.demo.quiet);
  EXPECT_EQ(l.demo.color, Color::kBlue);
  EXPECT_EQ(l.demo.count, 3);  // after "--" it is an argument
  EXPECT_EQ(l.result->positional, (std::vector<std::string>{"a", "-", "--count=9"}));
  l = Load({{"ON", "yes"}}, {"--on=false"});
  ASSERT_TRUE(l.result.ok());
  EXPECT_FALSE(l.demo.on);
}

TEST(SettingsTest, HelpStopsParsingAndIsGeneratedFromTheRows) {
  for (const char* flag : {"--help", "-h"}) {
    Loaded l = Load({{"COUNT", "junk"}}, {flag});
    ASSERT_TRUE(l.result.ok()) << flag;
    EXPECT_TRUE(l.result->help);
  }
  Demo unused;
  const std::string help = SettingsHelp(Table(&unused), "HEADER\n", "FOOTER\n");
  EXPECT_THAT(help, HasSubstr("HEADER\n"));
  EXPECT_THAT(help, HasSubstr("FOOTER\n"));
  EXPECT_THAT(help, HasSubstr("--count N"));
  EXPECT_THAT(help, HasSubstr("COUNT"));
  EXPECT_THAT(help, HasSubstr("how many (default: 3)"));
  EXPECT_THAT(help, HasSubstr("--help"));
  for (absl::string_view line : absl::StrSplit(help, '\n')) {
    EXPECT_LE(line.size(), 100u) << line;
  }
}

TEST(SettingsTest, InvalidNamesTheRowAndItsText) {
  Loaded l = Load({{"COUNT", "4"}}, {});
  ASSERT_TRUE(l.result.ok());
  const absl::Status st = l.result->Invalid("count", "too many for --big");
  EXPECT_THAT(std::string(st.message()), HasSubstr("--count / COUNT='4': too many for --big"));
}

}  // namespace
}  // namespace nf2
