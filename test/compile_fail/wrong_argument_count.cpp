// expect: these arguments do not match the function's parameters
#include <mpdecor/mpdecor.hpp>
int add(int a, int b) { return a + b; }
MPDECOR_REGISTER(add);
int main() { return mpdecor::proc_wait(add)(1); }
