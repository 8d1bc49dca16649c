#include <gtest/gtest.h>

#include <fstream>

#include "model/images.hpp"

namespace tjf::model {
namespace {

TEST(ImageCatalogue, DefaultsResolveShortNamesAliasesAndUrls) {
  const auto catalogue = ImageCatalogue::defaults();
  for (const char* name :
       {"python3.11", "tf-python39", "tf-node12", "tf-php74", "tf-mono68", "tf-bullseye-std",
        "tf-python37-DEPRECATED", "toolforge-python311-sssd-web", "toolforge-python311-sssd-base",
        "docker-registry.tools.wmflabs.org/toolforge-python311-sssd-web:latest",
        "docker-registry.tools.wmflabs.org/toolforge-python311-sssd-web"}) {
    EXPECT_NE(catalogue.resolve(name), nullptr) << name;
  }
  EXPECT_EQ(catalogue.resolve("tf-python39")->shortname, "python3.9");
  EXPECT_EQ(catalogue.resolve("tf-node12")->state, ImageState::kDeprecated);
  EXPECT_EQ(catalogue.resolve("tool-datbot/footy-updater:latest"), nullptr);
  EXPECT_EQ(catalogue.resolve("python3.11:other-tag"), nullptr);
  EXPECT_EQ(noSuchImage("nope").message, "No such image 'nope'");
}

TEST(ImageCatalogue, StableListIsSortedAndHidesDeprecated) {
  const auto catalogue = ImageCatalogue::defaults();  // stable() points into it
  const auto stable = catalogue.stable();
  ASSERT_FALSE(stable.empty());
  for (std::size_t i = 1; i < stable.size(); ++i) {
    EXPECT_LT(stable[i - 1]->shortname, stable[i]->shortname);
  }
  for (const auto* image : stable) EXPECT_EQ(image->state, ImageState::kStable);
}

TEST(ImageCatalogue, ReadsOperatorYaml) {
  const auto path = std::filesystem::temp_directory_path() / "tjf-images-test.yaml";
  {
    std::ofstream out(path);
    out << "busybox:\n  image: local/busybox\n  rootfs: /srv/rootfs/busybox\n"
           "  aliases: [bb]\nold:\n  image: local/old:1\n  state: deprecated\n";
  }
  auto catalogue = ImageCatalogue::fromYamlFile(path);
  ASSERT_TRUE(catalogue) << catalogue.error().message;
  EXPECT_EQ(catalogue->resolve("bb")->runner, ImageRunner::kOci);
  EXPECT_EQ(catalogue->resolve("local/busybox")->rootfs, "/srv/rootfs/busybox");
  EXPECT_EQ(catalogue->stable().size(), 1u);
  {
    std::ofstream out(path);
    out << "broken:\n  state: stable\n";
  }
  auto broken = ImageCatalogue::fromYamlFile(path);
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().message.find("'broken' needs an 'image' key"), std::string::npos);
  std::filesystem::remove(path);
}

TEST(ImageCatalogue, OperatorImagesExtendAndOverrideTheDefaults) {
  Image mapped;
  mapped.shortname = "tool-datbot/footy-updater:latest";
  mapped.url = "tools-harbor.wmcloud.org/tool-datbot/footy-updater:latest";
  Image python;
  python.shortname = "python3.11";
  python.url = "local/python:3.11";
  python.runner = ImageRunner::kOci;
  python.rootfs = "/srv/rootfs/python";
  const auto catalogue =
      ImageCatalogue::merged(ImageCatalogue({mapped, python}), ImageCatalogue::defaults());
  EXPECT_EQ(catalogue.all().size(), ImageCatalogue::defaults().all().size() + 1);
  ASSERT_NE(catalogue.resolve("tool-datbot/footy-updater:latest"), nullptr);
  EXPECT_EQ(catalogue.resolve("tool-datbot/footy-updater")->shortname,
            "tool-datbot/footy-updater:latest");
  // The operator's python3.11 replaces the default one; the other defaults stay.
  EXPECT_EQ(catalogue.resolve("python3.11")->runner, ImageRunner::kOci);
  EXPECT_EQ(catalogue.resolve("bookworm")->runner, ImageRunner::kHost);
  EXPECT_NE(catalogue.resolve("tf-node12"), nullptr);
}

}  // namespace
}  // namespace tjf::model
