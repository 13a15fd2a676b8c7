// Boost.Asio (with its SSL support) and Boost.Beast compiled once, in this translation unit.
// Every target that includes them links backline::net, which defines
// BOOST_ASIO_SEPARATE_COMPILATION and BOOST_BEAST_SEPARATE_COMPILATION for it: the other
// files then see only declarations of the libraries' non-template code and do not compile it
// again (server/CMakeLists.txt; Boost.Asio's "Using, Building, and Configuring" chapter).
#include <utility>  // Boost 1.74's asio uses std::exchange without including it

#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
