#include "model/images.hpp"

#include <algorithm>

#include <yaml-cpp/yaml.h>

namespace tjf::model {
namespace {

constexpr std::string_view kRegistry = "docker-registry.tools.wmflabs.org/";

// Splits "host/path:tag" into the path without host and the tag (default "latest").
std::pair<std::string, std::string> pathAndTag(std::string_view ref) {
  std::string_view rest = ref;
  const auto slash = rest.find('/');
  if (slash != std::string_view::npos && rest.substr(0, slash).find('.') != std::string_view::npos) {
    rest = rest.substr(slash + 1);
  }
  std::string tag = "latest";
  const auto colon = rest.rfind(':');
  if (colon != std::string_view::npos) {
    tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
  }
  return {std::string(rest), tag};
}

Image hostImage(std::string shortname, std::string_view repo, ImageState state,
                std::vector<std::string> extra_aliases = {}) {
  Image image;
  image.shortname = std::move(shortname);
  image.url = std::string(kRegistry) + std::string(repo) + ":latest";
  image.state = state;
  // Legacy names: "tf-python39", its "-DEPRECATED" and "-std" spellings, and the base variant.
  std::string compact;
  for (const char c : image.shortname) {
    if (c != '.') compact += c;
  }
  image.aliases = {"tf-" + compact, "tf-" + compact + "-DEPRECATED", "tf-" + compact + "-std",
                   "toolforge-" + compact, std::string(repo)};
  const auto web = std::string(repo).rfind("-sssd-web");
  if (web != std::string::npos) image.aliases.push_back(std::string(repo).substr(0, web) + "-sssd-base");
  for (auto& a : extra_aliases) image.aliases.push_back(std::move(a));
  image.runner = ImageRunner::kHost;
  return image;
}

}  // namespace

std::string_view toString(ImageState v) {
  return v == ImageState::kStable ? "stable" : "deprecated";
}
std::string_view toString(ImageRunner v) { return v == ImageRunner::kHost ? "host" : "oci"; }

ImageCatalogue::ImageCatalogue(std::vector<Image> images) : images_(std::move(images)) {}

ImageCatalogue ImageCatalogue::defaults() {
  const auto s = ImageState::kStable;
  const auto d = ImageState::kDeprecated;
  return ImageCatalogue({
      hostImage("bookworm", "toolforge-bookworm-sssd", s),
      hostImage("bullseye", "toolforge-bullseye-sssd", s),
      hostImage("trixie", "toolforge-trixie-sssd", s),
      hostImage("jdk17", "toolforge-jdk17-sssd-web", s),
      hostImage("mariadb", "toolforge-mariadb-sssd-web", s),
      hostImage("mono6.8", "toolforge-mono68-sssd-web", s),
      hostImage("node16", "toolforge-node16-sssd-web", s),
      hostImage("node18", "toolforge-node18-sssd-web", s),
      hostImage("node20", "toolforge-node20-sssd-web", s),
      hostImage("perl5.32", "toolforge-perl532-sssd-web", s),
      hostImage("perl5.36", "toolforge-perl536-sssd-web", s),
      hostImage("php7.4", "toolforge-php74-sssd-web", s),
      hostImage("php8.2", "toolforge-php82-sssd-web", s),
      hostImage("python3.9", "toolforge-python39-sssd-web", s),
      hostImage("python3.11", "toolforge-python311-sssd-web", s),
      hostImage("python3.13", "toolforge-python313-sssd-web", s),
      hostImage("ruby2.1", "toolforge-ruby21-sssd-web", s),
      hostImage("ruby2.7", "toolforge-ruby27-sssd-web", s),
      hostImage("ruby3.1", "toolforge-ruby31-sssd-web", s),
      hostImage("tcl8.6", "toolforge-tcl86-sssd-web", s),
      hostImage("buster", "toolforge-buster-sssd", d),
      hostImage("stretch", "toolforge-stretch-sssd", d),
      hostImage("golang1.11", "toolforge-golang111-sssd-web", d),
      hostImage("jdk11", "toolforge-jdk11-sssd-web", d),
      hostImage("jdk8", "toolforge-jdk8-sssd-web", d),
      hostImage("node10", "toolforge-node10-sssd-web", d),
      hostImage("node12", "toolforge-node12-sssd-web", d),
      hostImage("php7.3", "toolforge-php73-sssd-web", d),
      hostImage("python3.5", "toolforge-python35-sssd-web", d),
      hostImage("python3.7", "toolforge-python37-sssd-web", d),
      hostImage("ruby2.5", "toolforge-ruby25-sssd-web", d),
  });
}

ImageCatalogue ImageCatalogue::merged(ImageCatalogue operator_images,
                                     const ImageCatalogue& defaults) {
  std::vector<Image> images = std::move(operator_images.images_);
  const std::size_t own = images.size();
  for (const auto& image : defaults.images_) {
    const bool overridden =
        std::any_of(images.begin(), images.begin() + static_cast<std::ptrdiff_t>(own),
                    [&](const Image& o) { return o.shortname == image.shortname; });
    if (!overridden) images.push_back(image);
  }
  return ImageCatalogue(std::move(images));
}

Result<ImageCatalogue> ImageCatalogue::fromYamlFile(const std::filesystem::path& path) {
  const std::string where = "image catalogue '" + path.string() + "'";
  try {
    const YAML::Node root = YAML::LoadFile(path.string());
    if (!root.IsMap()) return invalidArgument(where + ": expected a mapping of short names");
    std::vector<Image> images;
    for (const auto& entry : root) {
      Image image;
      image.shortname = entry.first.as<std::string>();
      const YAML::Node& v = entry.second;
      if (!v.IsMap() || !v["image"]) {
        return invalidArgument(where + ": entry '" + image.shortname + "' needs an 'image' key");
      }
      image.url = v["image"].as<std::string>();
      if (image.url.find(':', image.url.rfind('/') == std::string::npos ? 0 : image.url.rfind('/')) ==
          std::string::npos) {
        image.url += ":latest";
      }
      const std::string state = v["state"] ? v["state"].as<std::string>() : "stable";
      if (state != "stable" && state != "deprecated") {
        return invalidArgument(where + ": entry '" + image.shortname + "' has state '" + state +
                               "', expected 'stable' or 'deprecated'");
      }
      image.state = state == "stable" ? ImageState::kStable : ImageState::kDeprecated;
      if (v["aliases"]) {
        for (const auto& a : v["aliases"]) image.aliases.push_back(a.as<std::string>());
      }
      if (v["rootfs"]) {
        image.runner = ImageRunner::kOci;
        image.rootfs = v["rootfs"].as<std::string>();
        if (!image.rootfs.is_absolute()) image.rootfs = path.parent_path() / image.rootfs;
      }
      images.push_back(std::move(image));
    }
    return ImageCatalogue(std::move(images));
  } catch (const YAML::Exception& e) {
    return invalidArgument("Unable to read " + where + ": " + e.what());
  }
}

const Image* ImageCatalogue::resolve(std::string_view user_string) const {
  if (user_string.empty()) return nullptr;
  const auto [user_path, user_tag] = pathAndTag(user_string);
  const auto last_slash = user_string.rfind('/');
  const auto last_colon = user_string.rfind(':');
  const bool user_has_tag = last_colon != std::string_view::npos &&
                            (last_slash == std::string_view::npos || last_colon > last_slash);
  for (const auto& image : images_) {
    if (image.shortname == user_string) return &image;
    if (std::find(image.aliases.begin(), image.aliases.end(), user_string) != image.aliases.end()) {
      return &image;
    }
    const auto [path, tag] = pathAndTag(image.url);
    if (user_path == path && (!user_has_tag || user_tag == tag)) return &image;
  }
  return nullptr;
}

std::vector<const Image*> ImageCatalogue::stable() const {
  std::vector<const Image*> out;
  for (const auto& image : images_) {
    if (image.state == ImageState::kStable) out.push_back(&image);
  }
  std::sort(out.begin(), out.end(),
            [](const Image* a, const Image* b) { return a->shortname < b->shortname; });
  return out;
}

Error noSuchImage(std::string_view user_string) {
  return Error{ErrorCode::kInvalidArgument, "No such image '" + std::string(user_string) + "'"};
}

}  // namespace tjf::model
