// Environment flags: parsing, precedence of NOMALY_ over the legacy PYNOMALY_ name, and FeatureDisabled.
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "nomaly/errors.hpp"
#include "nomaly/flags.hpp"

namespace {

/// Sets (or unsets) an environment variable for the lifetime of the guard, then restores it.
class EnvGuard {
 public:
  EnvGuard(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) ::setenv(name, value->c_str(), 1);
    else ::unsetenv(name);
  }
  ~EnvGuard() {
    if (old_) ::setenv(name_, old_->c_str(), 1);
    else ::unsetenv(name_);
  }
  EnvGuard(const EnvGuard&) = delete;
  EnvGuard& operator=(const EnvGuard&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

constexpr const char* kNew = "NOMALY_DEEP_LEARNING";
constexpr const char* kOld = "PYNOMALY_DEEP_LEARNING";

}  // namespace

TEST(Flags, ParseAcceptedValues) {
  for (const char* v : {"true", "TRUE", " True ", "1", "yes", "YES", "on", "On\t"})
    EXPECT_TRUE(nomaly::parse_bool_flag("X", v)) << v;
  for (const char* v : {"false", "False", "0", "no", "NO", " off ", "OFF"})
    EXPECT_FALSE(nomaly::parse_bool_flag("X", v)) << v;
}

TEST(Flags, ParseRejectsOtherValues) {
  for (const char* v : {"", "maybe", "2", "tru", "y", "enable"})
    EXPECT_THROW(nomaly::parse_bool_flag("X", v), nomaly::FlagError) << v;
  try {
    nomaly::parse_bool_flag("NOMALY_DEEP_LEARNING", "maybe");
    FAIL();
  } catch (const nomaly::FlagError& e) {
    EXPECT_EQ(std::string(e.what()),
              "invalid value 'maybe' for NOMALY_DEEP_LEARNING; accepted values (case-insensitive): "
              "true, false, 1, 0, yes, no, on, off");
    EXPECT_EQ(e.exit_code(), nomaly::ExitCode::Usage);
  }
}

TEST(Flags, DeepLearningDefaultIsOn) {
  EnvGuard a(kNew, std::nullopt), b(kOld, std::nullopt);
  EXPECT_TRUE(nomaly::deep_learning_enabled());
  EXPECT_NO_THROW(nomaly::require_deep_learning());
  EnvGuard c(kNew, "  ");  // blank = unset
  EXPECT_TRUE(nomaly::deep_learning_enabled());
}

TEST(Flags, DeepLearningReadAtCallTime) {
  EnvGuard b(kOld, std::nullopt);
  {
    EnvGuard a(kNew, "false");
    EXPECT_FALSE(nomaly::deep_learning_enabled());
  }
  {
    EnvGuard a(kNew, "ON");
    EXPECT_TRUE(nomaly::deep_learning_enabled());
  }
}

TEST(Flags, LegacyNameAndPrecedence) {
  EnvGuard a(kNew, std::nullopt);
  {
    EnvGuard b(kOld, "0");
    EXPECT_FALSE(nomaly::deep_learning_enabled());
    EnvGuard c(kNew, "1");  // the new name wins when both are set
    EXPECT_TRUE(nomaly::deep_learning_enabled());
  }
  {
    EnvGuard b(kOld, "yes");
    EnvGuard c(kNew, "no");
    EXPECT_FALSE(nomaly::deep_learning_enabled());
  }
}

TEST(Flags, InvalidValueNamesTheVariable) {
  EnvGuard a(kNew, std::nullopt);
  EnvGuard b(kOld, "sometimes");
  try {
    nomaly::deep_learning_enabled();
    FAIL();
  } catch (const nomaly::FlagError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("PYNOMALY_DEEP_LEARNING"), std::string::npos) << m;
    EXPECT_NE(m.find("'sometimes'"), std::string::npos) << m;
  }
}

TEST(Flags, RequireDeepLearningThrowsFeatureDisabled) {
  EnvGuard b(kOld, std::nullopt);
  EnvGuard a(kNew, "off");
  try {
    nomaly::require_deep_learning();
    FAIL();
  } catch (const nomaly::FeatureDisabled& e) {
    EXPECT_EQ(std::string(e.what()), "Deep learning features are disabled. Enable with NOMALY_DEEP_LEARNING=true");
    EXPECT_EQ(std::string(e.what()), nomaly::kDeepLearningDisabledMessage);
    EXPECT_EQ(e.exit_code(), nomaly::ExitCode::ModelError);
  }
}
