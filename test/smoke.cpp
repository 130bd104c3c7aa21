#include <mpdecor/mpdecor.hpp>
#include <iostream>
double train(std::string config, int epochs) { return config.size() * 1.0 + epochs; }
MPDECOR_REGISTER(train);
int main(int argc, char** argv) {
  mpdecor::init(argc, argv);
  auto h = mpdecor::proc(train)("a.cfg", 5);
  double loss = mpdecor::proc_wait(train)("b.cfg", 10);
  std::cout << loss << " " << h.get() << "\n";
  mpdecor::wait_all();
}
