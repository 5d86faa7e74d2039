// The control socket's request -> reply, and which command each request runs.
#include "supervisor/ctl_dispatch.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cosp::supervisor {
namespace {

struct Recorder {
  std::vector<std::string> calls;
  ReloadStart reload_start{true, 7, ""};
  ControlCommands commands() {
    return ControlCommands{[this] {
                             calls.push_back("status");
                             common::JsonValue s = common::JsonValue::object();
                             s.set("healthy", true);
                             return s;
                           },
                           [this] {
                             calls.push_back("reload");
                             return reload_start;
                           },
                           [this] { calls.push_back("stop"); }, [this] { calls.push_back("refresh"); }};
  }
};

TEST(CtlDispatch, EachCommandRunsItsActionAndAnswers) {
  Recorder r;
  EXPECT_EQ(dispatchControl(R"({"command":"status"})", r.commands()), R"({"ok":true,"data":{"healthy":true}})");
  EXPECT_EQ(dispatchControl(R"({"command":"reload"})", r.commands()),
            R"({"ok":true,"data":{"generation":7,"message":"reload started"}})");
  EXPECT_EQ(dispatchControl(R"({"command":"stop"})", r.commands()),
            R"({"ok":true,"data":{"message":"graceful stop started"}})");
  EXPECT_EQ(dispatchControl(R"({"command":"refresh"})", r.commands()),
            R"({"ok":true,"data":{"message":"credential refresh requested"}})");
  EXPECT_EQ(r.calls, (std::vector<std::string>{"status", "reload", "stop", "refresh"}));
}

TEST(CtlDispatch, ARejectedReloadAnswersNotOkWithTheReason) {
  Recorder r;
  r.reload_start = ReloadStart{false, 0, "config: port: \"x\" is not a number"};
  EXPECT_EQ(dispatchControl(R"({"command":"reload"})", r.commands()),
            R"({"ok":false,"error":"reload rejected: config: port: \"x\" is not a number"})");
  EXPECT_EQ(r.calls, (std::vector<std::string>{"reload"}));
}

TEST(CtlDispatch, MalformedAndUnknownRequestsRunNothing) {
  Recorder r;
  const std::string malformed = R"({"ok":false,"error":"malformed control request"})";
  const std::string unknown = R"J({"ok":false,"error":"unknown command (expected status, reload, refresh or stop)"})J";
  EXPECT_EQ(dispatchControl("", r.commands()), malformed);
  EXPECT_EQ(dispatchControl("not json", r.commands()), malformed);
  EXPECT_EQ(dispatchControl(R"(["status"])", r.commands()), malformed);
  EXPECT_EQ(dispatchControl(R"({"command":"halt"})", r.commands()), unknown);
  EXPECT_EQ(dispatchControl(R"({"command":5})", r.commands()), unknown);
  EXPECT_EQ(dispatchControl("{}", r.commands()), unknown);
  EXPECT_TRUE(r.calls.empty());
}

}  // namespace
}  // namespace cosp::supervisor
