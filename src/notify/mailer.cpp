#include "notify/mailer.hpp"

#include <boost/asio/post.hpp>

namespace tjf::notify {

ThreadedMailer::ThreadedMailer(boost::asio::io_context& io,
                               std::unique_ptr<MailTransport> transport)
    : io_(io), transport_(std::move(transport)), worker_([this] { work(); }) {}

ThreadedMailer::~ThreadedMailer() {
  alive_.reset();
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    queue_.clear();
  }
  cancel_ = true;
  cancel_.notify_all();  // for transports that wait on it
  wake_.notify_all();
  worker_.join();
}

void ThreadedMailer::send(OutgoingMail mail, Done done) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(Item{std::move(mail), std::move(done)});
  }
  wake_.notify_one();
}

void ThreadedMailer::work() {
  while (true) {
    Item item;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    SendResult result = transport_->send(item.mail, cancel_);
    // The token is reset by the destructor, on the loop thread, where this handler runs too:
    // a result that was posted but not yet run when the mailer went is dropped.
    boost::asio::post(io_, [alive = alive_weak_, done = std::move(item.done),
                            result = std::move(result)] {
      if (!alive.expired()) done(result);
    });
  }
}

}  // namespace tjf::notify
