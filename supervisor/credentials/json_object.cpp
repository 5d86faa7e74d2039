#include "supervisor/credentials/json_object.h"

#include <Poco/JSON/Parser.h>

namespace cosp::supervisor {

Poco::JSON::Object::Ptr parseJsonObject(const std::string& text) {
  try {
    Poco::JSON::Parser parser;
    parser.setDepth(32);
    Poco::Dynamic::Var root = parser.parse(text);
    if (root.type() != typeid(Poco::JSON::Object::Ptr)) return nullptr;
    return root.extract<Poco::JSON::Object::Ptr>();
  } catch (const Poco::Exception&) {
    return nullptr;
  }
}

}  // namespace cosp::supervisor
