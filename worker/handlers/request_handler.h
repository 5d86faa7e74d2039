#pragma once

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>

#include "worker/worker_context.h"

namespace cosp::worker {

class ModelRoutes;

// Entry point of every request: request id, routing, caller auth, body limit, dispatch, the
// access-log line and counters. No exception ever leaves handleRequest: POCO 1.11 only catches
// Poco::Exception there and would drop the connection without a reply (ARCHITECTURE §5 #5).
class RequestHandler : public Poco::Net::HTTPRequestHandler {
 public:
  RequestHandler(WorkerContext& ctx, ModelRoutes* model_routes) : ctx_(ctx), model_routes_(model_routes) {}
  void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override;

 private:
  WorkerContext& ctx_;
  ModelRoutes* model_routes_;
};

class RequestHandlerFactory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  RequestHandlerFactory(WorkerContext& ctx, ModelRoutes* model_routes) : ctx_(ctx), model_routes_(model_routes) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
    return new RequestHandler(ctx_, model_routes_);
  }

 private:
  WorkerContext& ctx_;
  ModelRoutes* model_routes_;
};

}  // namespace cosp::worker
