// Proves that an installed mpdecor works from another project: one call in a child.
#include <mpdecor/mpdecor.hpp>

#include <iostream>
#include <string>

std::string greet(std::string name, int times) {
  std::string text;
  for (int i = 0; i < times; ++i)
    text += "hello " + name + "! ";
  return text;
}
MPDECOR_REGISTER(greet);

int main(int argc, char** argv) {
  mpdecor::init(argc, argv);
  const std::string text = mpdecor::proc_wait(greet)("package", 2);
  std::cout << "child returned: " << text << "\n";
  return text == "hello package! hello package! " ? 0 : 1;
}
