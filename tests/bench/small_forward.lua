-- small_forward.lua - wrk script: POST /v1/forward with a 16-element
-- leaky_relu job on every request (tests/bench/bench_daemon.py runs it).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"activation":"leaky_relu","alpha":0.01,' ..
           '"x":[-8,-7,-6,-5,-4,-3,-2,-1,0.5,1,2,3,4,5,6,7]}'
