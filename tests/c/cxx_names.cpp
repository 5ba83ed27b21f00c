// C++ names as people read them: a mutex in a namespace, a class's static
// shared_mutex, and locks taken in a lambda and in a member function. The
// trace's functions and objects are demangled ("app::Cache::get(int)",
// "app::Cache::table_lock"), not "_ZN3app5Cache3getEi".
#include <cstdio>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

namespace app {
std::mutex counter_lock;
long counter;

class Cache {
      public:
	static std::shared_mutex table_lock;
	int get(int key)
	{
		std::shared_lock<std::shared_mutex> read(table_lock);
		return key * 2;
	}
};
std::shared_mutex Cache::table_lock;
} // namespace app

int main()
{
	std::vector<std::thread> threads;
	for (int i = 0; i < 2; i++)
		threads.emplace_back([] {
			app::Cache cache;
			for (int k = 0; k < 100; k++) {
				std::lock_guard<std::mutex> hold(app::counter_lock);
				app::counter += cache.get(k);
			}
		});
	for (auto &t : threads)
		t.join();
	std::printf("%ld\n", app::counter);
	return 0;
}
