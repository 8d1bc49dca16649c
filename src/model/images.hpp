// The image catalogue: short names, references and aliases, and how each image runs. Personal
// mode's default catalogue offers Toolforge's short names running on the host, so a Toolforge
// jobs file loads unchanged; an operator's YAML file can map images to root filesystems that run
// through an OCI runtime.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace tjf::model {

enum class ImageState { kStable, kDeprecated };
enum class ImageRunner { kHost, kOci };

std::string_view toString(ImageState v);
std::string_view toString(ImageRunner v);

struct Image {
  std::string shortname;
  std::string url;  // the reference shown in `images`
  ImageState state = ImageState::kStable;
  std::vector<std::string> aliases;
  ImageRunner runner = ImageRunner::kHost;
  std::filesystem::path rootfs;  // for kOci
};

class ImageCatalogue {
 public:
  // Toolforge's current and legacy short names, all running on the host.
  static ImageCatalogue defaults();
  // Operator file: a mapping `<shortname>: {image, state, aliases, rootfs}` (upstream's
  // images-v1.yaml shape plus `rootfs`). Errors name the file and the entry.
  static Result<ImageCatalogue> fromYamlFile(const std::filesystem::path& path);

  // An operator file extends the defaults (daemon config `images:`; `default_images: false`
  // uses the file alone): the operator's images first, then every default whose short name the
  // operator does not define. So an operator entry replaces the default of its short name, and
  // wins any alias or reference both would match (resolve() takes the first match).
  static ImageCatalogue merged(ImageCatalogue operator_images, const ImageCatalogue& defaults);

  explicit ImageCatalogue(std::vector<Image> images);

  // Matches a short name, an alias, or the reference with or without host and tag.
  const Image* resolve(std::string_view user_string) const;
  // Stable images sorted by short name, for `images`.
  std::vector<const Image*> stable() const;
  const std::vector<Image>& all() const { return images_; }

 private:
  std::vector<Image> images_;
};

// The error for an image that the catalogue does not know.
Error noSuchImage(std::string_view user_string);

}  // namespace tjf::model
