#!/usr/bin/env python3
"""The functions of a Rust tree by length (lines from `fn` to its closing brace, braces matched
outside strings and comments), longest first: `python3 scripts/fn_lengths.py src [N]`."""
import re,sys,os
# crude: find 'fn name' then match braces from the first '{' after it (skipping strings/comments roughly)
res=[]
for root,_,files in os.walk(sys.argv[1]):
  for f in files:
    if not f.endswith('.rs'): continue
    p=os.path.join(root,f); src=open(p).read()
    for m in re.finditer(r'\bfn\s+(\w+)',src):
      i=src.find('{',m.end()); semi=src.find(';',m.end())
      if i<0 or (semi>=0 and semi<i): continue
      d=0;j=i;n=len(src)
      while j<n:
        c=src[j]
        if c=='"':
          j+=1
          while j<n and src[j]!='"':
            if src[j]=='\\': j+=1
            j+=1
        elif src.startswith('//',j):
          j=src.find('\n',j)
          if j<0: break
        elif c=="'" and j+2<n and (src[j+2]=="'" or (src[j+1]=='\\')):
          k=src.find("'",j+2 if src[j+1]!='\\' else j+3); j=k
        elif c=='{': d+=1
        elif c=='}':
          d-=1
          if d==0: break
        j+=1
      a=src.count('\n',0,m.start())+1; b=src.count('\n',0,j)+1
      res.append((b-a+1,p,a,m.group(1)))
res.sort(reverse=True)
over=[r for r in res if r[0]>100]
print("over100:",len(over))
for r in res[:int(sys.argv[2]) if len(sys.argv)>2 else 25]: print(*r)
