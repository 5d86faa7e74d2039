#include "supervisor/ctl_dispatch.h"

#include <optional>

#include "common/json/json_parser.h"
#include "common/json/json_writer.h"

namespace cosp::supervisor {

std::string dispatchControl(std::string_view request, const ControlCommands& commands) {
  std::optional<common::JsonValue> object = common::parseJsonObject(request);
  if (!object) return R"({"ok":false,"error":"malformed control request"})";
  const std::string command = common::jsonStringOr(*object, "command");
  if (command == "status") {
    common::JsonWriter reply;
    reply.beginObject().member("ok", true).member("data", commands.status()).endObject();
    return reply.take();
  }
  if (command == "reload") {
    const ReloadStart start = commands.reload();
    common::JsonWriter reply;
    if (!start.started) {
      reply.beginObject().member("ok", false).member("error", "reload rejected: " + start.rejected).endObject();
      return reply.take();
    }
    reply.beginObject().member("ok", true).key("data").beginObject();
    reply.member("generation", static_cast<int64_t>(start.generation)).member("message", "reload started");
    reply.endObject().endObject();
    return reply.take();
  }
  if (command == "stop") {
    commands.stop();
    return R"({"ok":true,"data":{"message":"graceful stop started"}})";
  }
  if (command == "refresh") {
    commands.refresh();
    return R"({"ok":true,"data":{"message":"credential refresh requested"}})";
  }
  if (command == "keys-reload" && commands.keys_reload) {
    common::JsonWriter reply;
    if (auto error = commands.keys_reload()) {
      reply.beginObject().member("ok", false).member("error", "keys file refused: " + *error).endObject();
    } else {
      reply.beginObject().member("ok", true).key("data").beginObject().member("message", "keys reloaded");
      reply.endObject().endObject();
    }
    return reply.take();
  }
  if (command == "keys-usage" && commands.keys_usage) {
    common::JsonWriter reply;
    reply.beginObject().member("ok", true).member("data", commands.keys_usage()).endObject();
    return reply.take();
  }
  if (command == "accounts" && commands.accounts) {
    const std::string action = common::jsonStringOr(*object, "action");
    common::JsonWriter reply;
    if (!action.empty()) {
      if (action != "pause" && action != "resume") {
        return R"J({"ok":false,"error":"unknown accounts action (expected pause or resume)"})J";
      }
      if (auto error = commands.account_action(action, common::jsonStringOr(*object, "name"))) {
        reply.beginObject().member("ok", false).member("error", *error).endObject();
        return reply.take();
      }
    }
    reply.beginObject().member("ok", true).key("data").beginObject().member("accounts", commands.accounts());
    reply.endObject().endObject();
    return reply.take();
  }
  return R"J({"ok":false,"error":"unknown command (expected status, reload, refresh or stop)"})J";
}

}  // namespace cosp::supervisor
