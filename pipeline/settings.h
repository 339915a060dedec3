// A program's settings as one typed table: each row names a flag, an
// optional environment variable, a default, a help line and how its text is
// parsed into the program's own config struct. Loading is the same loop for
// every program (defaults, then environment, then flags; the last word wins
// and only that text is parsed), every error names the flag and the
// variable, and --help is generated from the same rows, so the three can
// never disagree.
#ifndef NF2INGEST_PIPELINE_SETTINGS_H_
#define NF2INGEST_PIPELINE_SETTINGS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "pipeline/absl_compat.h"

namespace nf2 {

using GetEnvFn = std::function<const char*(const char*)>;

struct Setting;
// Parses one setting's text and stores the value in the program's config.
using SettingParseFn = std::function<absl::Status(const Setting& self, std::string_view text)>;

// How a flag takes its value on the command line.
enum class FlagValue {
  kRequired,  // --flag=value or --flag value
  kOptional,  // --flag alone means "true"; --flag=value also works (booleans)
  kNone,      // --flag alone; a value is an error (switches)
};

struct Setting {
  std::string flag;           // without the leading "--"
  std::string env;            // empty: a flag only
  std::string value_name;     // for --help: N, SECONDS, FILE...; empty for switches
  std::string default_value;  // parsed like any text; empty and not given: not parsed
  std::string help;
  SettingParseFn parse;
  FlagValue flag_value = FlagValue::kRequired;
  // A flag that may be given more than once: the texts of every occurrence
  // are joined with ',' (as the variable lists them) instead of the last
  // one winning. Flags still replace the variable.
  bool repeatable = false;
};

using SettingsTable = std::vector<Setting>;

// "--flag / ENV", or "--flag" for a flag without a variable.
std::string SettingName(const Setting& s);
// InvalidArgument "invalid setting --flag / ENV='text': why".
absl::Status BadSetting(const Setting& s, std::string_view text, std::string_view why);

// Value parsers, each naming the setting in its error.
// Whole decimal numbers only ("1e3", "0x10", "12x" are refused).
absl::StatusOr<int64_t> ParseSettingInt(const Setting& s, std::string_view text, int64_t min,
                                        int64_t max);
absl::StatusOr<uint64_t> ParseSettingUint64(const Setting& s, std::string_view text, uint64_t min,
                                            uint64_t max);
// A finite decimal number in [min, max] ((min, max] when min_exclusive).
absl::StatusOr<double> ParseSettingDouble(const Setting& s, std::string_view text, double min,
                                          double max, bool min_exclusive = false);
// Seconds as a decimal number (no hex): 0 only when zero_is_off, else at
// least `min` (which is above 0), never more than a year.
struct SecondsRange {
  absl::Duration min = absl::Nanoseconds(1);
  bool zero_is_off = false;
};
absl::StatusOr<absl::Duration> ParseSettingSeconds(const Setting& s, std::string_view text,
                                                   SecondsRange range = {});
// true/1/yes/on and false/0/no/off (any case); empty is false.
absl::StatusOr<bool> ParseSettingBool(const Setting& s, std::string_view text);

// Parse functions for the common shapes, storing into a field.
SettingParseFn BoolInto(bool* out);
SettingParseFn Uint64Into(uint64_t* out, uint64_t min, uint64_t max);
SettingParseFn DoubleInto(double* out, double min, double max, bool min_exclusive = false);
SettingParseFn SecondsInto(absl::Duration* out, SecondsRange range = {});
SettingParseFn StringInto(std::string* out, bool allow_empty = true);

template <typename T>
SettingParseFn IntInto(T* out, int64_t min, int64_t max) {
  return [out, min, max](const Setting& s, std::string_view text) -> absl::Status {
    absl::StatusOr<int64_t> n = ParseSettingInt(s, text, min, max);
    if (!n.ok()) return n.status();
    *out = static_cast<T>(*n);
    return absl::OkStatus();
  };
}

// One of a fixed list of names.
template <typename T>
SettingParseFn ChoiceInto(T* out, std::vector<std::pair<std::string, T>> choices) {
  return
      [out, choices = std::move(choices)](const Setting& s, std::string_view text) -> absl::Status {
        std::string names;
        for (const auto& [name, value] : choices) {
          if (text == name) {
            *out = value;
            return absl::OkStatus();
          }
          names += (names.empty() ? "" : ", ") + name;
        }
        return BadSetting(s, text, "not one of " + names);
      };
}

// A value named by a program's own FromName(text) -> StatusOr<T>.
template <typename T, typename FromName>
SettingParseFn NamedInto(T* out, FromName from_name) {
  return [out, from_name](const Setting& s, std::string_view text) -> absl::Status {
    auto value = from_name(std::string(text));
    if (!value.ok()) return BadSetting(s, text, Sv(value.status().message()));
    *out = *value;
    return absl::OkStatus();
  };
}

struct SettingsLoadOptions {
  bool allow_positional = false;  // else a non-flag argument is an error
  // Called for a flag missing from the table before the generic "unknown
  // flag" error: a program refuses some names with a better message.
  std::function<absl::Status(std::string_view name)> check_unknown;
};

// What loading found besides the values it stored.
class LoadedSettings {
 public:
  bool help = false;                    // --help or -h: nothing was parsed
  std::vector<std::string> positional;  // "-" and arguments after "--" included

  // True when a flag or the variable gave the setting (not its default).
  bool Given(std::string_view flag) const;
  // The text the setting was parsed from.
  std::string Text(std::string_view flag) const;
  // BadSetting for the row of `flag` with the text it was parsed from.
  absl::Status Invalid(std::string_view flag, std::string_view why) const;

 private:
  friend absl::StatusOr<LoadedSettings> LoadSettings(const SettingsTable&,
                                                     const std::vector<std::string>&,
                                                     const GetEnvFn&, const SettingsLoadOptions&);
  std::map<std::string, std::string, std::less<>> name_;  // SettingName of each row
  std::map<std::string, std::string, std::less<>> text_;
  std::map<std::string, bool, std::less<>> given_;
};

// Parses `args` (without argv[0]) and the environment into the table's
// fields. Flags beat variables beat defaults; a flag given twice: the last.
absl::StatusOr<LoadedSettings> LoadSettings(const SettingsTable& table,
                                            const std::vector<std::string>& args,
                                            const GetEnvFn& getenv,
                                            const SettingsLoadOptions& options = {});

// --help: `header`, one entry per row (flag, value, variable, help, default)
// plus --help itself, then `footer`.
std::string SettingsHelp(const SettingsTable& table, std::string_view header,
                         std::string_view footer);

}  // namespace nf2

#endif  // NF2INGEST_PIPELINE_SETTINGS_H_
