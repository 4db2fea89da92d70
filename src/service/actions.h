// The catalog actions of the API: ImportImage (validation, DryRun, the synchronous error codes
// of SPEC §4), DescribeImages (ImageIds or Filters, Offset/Limit), DeleteImages,
// ModifyImageAttribute, DescribeImageQuota, DescribeImageFromFamily, ModifyImageSharePermission
// and DescribeImageSharePermission; and the message center. Every action works in the caller's
// account only: another account's ImageId is simply not found, unless its owner shared the image
// with the caller, who then sees it (SHARED_IMAGE) but may not change, delete or share it.
// An account's AccountId, for sharing, is its configured app_id (the ImageCreator of its images).
#pragma once

#include "api/server.h"
#include "catalog/catalog.h"
#include "service/notify.h"
#include "store/image_store.h"

namespace ig::service {

struct ServiceLimits {
  std::int64_t image_quota = 500;        // custom images per account
  std::int64_t subscription_quota = 10;  // message subscriptions per account
  std::int64_t share_quota = 500;        // accounts one image may be shared with
  store::ImageStore* store = nullptr;    // the image repository: DeleteImages removes the images there
};

void register_catalog_actions(api::Api& api, catalog::Catalog& catalog, ServiceLimits limits = {});

// The one table from an internal error (a catalog's or a store's ig::Error) to the API's answer,
// for the failures an action does not answer with a code of its own: kNotFound is
// ResourceNotFound, kAlreadyExists ResourceInUse, kLimitExceeded LimitExceeded, and every other
// code InternalError (kUnavailable with a message that says to retry). The client gets a safe
// sentence naming the RequestId; the internal message, which may hold SQL or a path, goes to the
// log with that RequestId and the action.
api::Reply internal_error(const api::Call& c, const Error& e);

// The message center, actions of our own (docs/api.md): DescribeMessages, MarkMessagesRead,
// DeleteMessages, CreateMessageSubscription, DescribeMessageSubscriptions,
// DeleteMessageSubscription, and TestMessageSubscription (a test message sent at once with
// `notify`'s SMTP server and timeout). An account sees only its own messages and subscriptions.
void register_message_actions(api::Api& api, catalog::Catalog& catalog, ServiceLimits limits = {},
                              NotifyConfig notify = {});

}  // namespace ig::service
