#!/usr/bin/env python3
"""train_prelu.py - a small network with leakycl's PReLU learns y = |x|
(the README's training loop). PReLU's forward and its fused backward
(dx and weight.grad together) run in leakycl's OpenCL kernels.
   PYTHONPATH=clients/python python3 clients/examples/train_prelu.py"""
import torch

import leakycl.torch as lt

torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(1, 16), lt.PReLU(16), torch.nn.Linear(16, 1))
opt = torch.optim.Adam(model.parameters(), lr=0.02)
x = torch.linspace(-2, 2, 256).unsqueeze(1)
for step in range(301):
    loss = torch.nn.functional.mse_loss(model(x), x.abs())
    opt.zero_grad()
    loss.backward()  # weight.grad of the PReLU comes from leakycl's fused backward
    opt.step()
    if step % 100 == 0:
        print("step %d loss %.6f" % (step, loss.item()))
